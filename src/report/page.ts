/**
 * The one HTML page every report is written into: self-contained (styles and the small table
 * script inline, charts as inline SVG, no external reference of any kind), light and dark by
 * `prefers-color-scheme`, printable. A Content-Security-Policy allows nothing but this page's own
 * style and script (by hash), so even markup that slipped through escaping could not run or load.
 */
import { createHash } from 'node:crypto';
import { html, trusted, type Html } from './html.js';

const CSS = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#5b6470;--line:#d8dde3;--panel:#f5f7f9;--ok:#1a7f37;--warn:#9a6700;--err:#c62828;
--c0:#0a6cbd;--c1:#d55e00;--c2:#0f8a63;--c3:#b4508f;--c4:#b07d00;--c5:#4aa3df;--c6:#6b6b6b;--c7:#7a5bd1}
@media (prefers-color-scheme:dark){:root{--bg:#0f1318;--fg:#e6e9ed;--muted:#9aa4af;--line:#2e3640;--panel:#171d24;--ok:#4ac26b;--warn:#d29922;--err:#ff6b6b;
--c0:#5aa9f0;--c1:#ff8a4c;--c2:#3fcf9b;--c3:#e58bc8;--c4:#e6b422;--c5:#8fd0ff;--c6:#a7a7a7;--c7:#a993ff}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
header,main,footer{max-width:1180px;margin:0 auto;padding:0 20px}
header{padding-top:20px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:16px 0 6px}
.sub,.muted,footer{color:var(--muted)}
footer{font-size:12px;padding-top:24px;padding-bottom:24px}
.badge{display:inline-block;font-weight:600;padding:3px 10px;border-radius:12px;border:1px solid currentColor;margin:6px 0}
.ok{color:var(--ok)}.warn{color:var(--warn)}.error{color:var(--err)}
dl.fields{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:8px 0}
dl.fields dt{color:var(--muted)}dl.fields dd{margin:0;overflow-wrap:anywhere}
.mono,code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.table-wrap{margin:8px 0 16px}
.tools{display:flex;gap:8px;align-items:center;margin:0 0 6px;flex-wrap:wrap}
.tools input,.tools select{font:inherit;color:var(--fg);background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:4px 8px}
.tools input{min-width:240px}
.scroll{overflow-x:auto;max-height:640px;overflow-y:auto;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:max-content;min-width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;min-width:280px;max-width:520px}
th{background:var(--panel);position:sticky;top:0;font-weight:600;white-space:nowrap}
th button{all:unset;cursor:pointer}
th button::after{content:"\\2195";color:var(--muted);font-size:11px;margin-left:4px}
th[aria-sort=ascending] button::after{content:"\\25B2"}th[aria-sort=descending] button::after{content:"\\25BC"}
td.num,th.num{text-align:right;white-space:nowrap}
tbody tr:hover{background:var(--panel)}
tr.sub td{color:var(--muted)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:0 16px}
figure.chart{max-width:880px;margin:8px 0;}
figure.chart.wide{max-width:none}
figure.chart{padding:10px 12px;border:1px solid var(--line);border-radius:8px;background:var(--panel)}
figure.chart figcaption{font-weight:600;margin-bottom:4px}
figure.chart svg{display:block;width:100%;height:auto;color:var(--muted)}
svg .grid{stroke:var(--line);stroke-width:1}
svg .axis{stroke:var(--muted);stroke-width:1}
svg text{fill:var(--muted);font-size:12.5px}
svg .line{fill:none;stroke-width:2;stroke-linejoin:round}
svg .marker{stroke:var(--muted);stroke-dasharray:3 3}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 14px;padding:0;margin:4px 0 0;font-size:12px}
.legend .key{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `.s${i}{stroke:var(--c${i});fill:var(--c${i})}svg .line.s${i}{fill:none}.key.s${i}{background:var(--c${i})}`).join('')}
@media print{.tools{display:none}.scroll{max-height:none;overflow:visible}}
`;

/** Sorting and filtering of every `.table-wrap` table: a few lines of our own, no library. */
const SCRIPT = `
(function(){
  var wraps=document.querySelectorAll('.table-wrap');
  Array.prototype.forEach.call(wraps,function(wrap){
    var table=wrap.querySelector('table');if(!table||!table.tBodies[0])return;var body=table.tBodies[0];
    var rows=Array.prototype.slice.call(body.rows);
    // Each row's text, read when first filtered (a big table loads without it).
    var text=null;
    var input=wrap.querySelector('input[type=search]');var facet=wrap.querySelector('select');
    var count=wrap.querySelector('.count');var col=facet?Number(facet.getAttribute('data-col')):-1;
    function apply(){
      var words=input?input.value.toLowerCase().split(/\\s+/).filter(Boolean):[];var fv=facet?facet.value:'';var shown=0;
      if(words.length&&!text)text=rows.map(function(r){return r.textContent.toLowerCase();});
      rows.forEach(function(r,i){
        var ok=words.every(function(w){return text[i].indexOf(w)>=0;})&&(!fv||r.cells[col].textContent.trim()===fv);
        r.hidden=!ok;if(ok)shown++;
      });
      if(count)count.textContent=shown===rows.length?rows.length+' rows':shown+' of '+rows.length+' rows';
    }
    if(input)input.addEventListener('input',apply);if(facet)facet.addEventListener('change',apply);
    var collator=new Intl.Collator(undefined,{numeric:true});
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,c){
      var btn=th.querySelector('button');if(!btn)return;
      btn.addEventListener('click',function(){
        var asc=th.getAttribute('aria-sort')!=='ascending';
        Array.prototype.forEach.call(table.tHead.rows[0].cells,function(o){o.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var num=th.getAttribute('data-type')==='number';
        // Keys are read once per row, not per comparison; rows move back in one fragment.
        var keyed=rows.map(function(r,i){
          var cell=r.cells[c];var v=cell.getAttribute('data-v');if(v===null)v=cell.textContent.trim();
          return {r:r,t:text?text[i]:null,k:num?(v===''?-Infinity:Number(v)):v};
        });
        keyed.sort(function(a,b){
          var d=num?(a.k<b.k?-1:a.k>b.k?1:0):collator.compare(a.k,b.k);
          return asc?d:-d;
        });
        var frag=document.createDocumentFragment();
        keyed.forEach(function(x){frag.appendChild(x.r);});
        body.appendChild(frag);
        rows=keyed.map(function(x){return x.r;});if(text)text=keyed.map(function(x){return x.t;});
      });
    });
  });
})();
`;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64');

/** Options of {@link renderPage}. */
export interface PageOptions {
  /** Window title and heading. */
  title: string;
  /** A line under the heading. */
  subtitle?: Html | string;
  /** A badge under the heading: the report's verdict. */
  status?: { tone: 'ok' | 'warn' | 'error'; text: string };
  /** The sections, in order. */
  body: Html[];
  /** Footer line (what wrote the file, when). */
  footer?: string;
}

/** The whole document. */
export function renderPage(opts: PageOptions): string {
  const csp = `default-src 'none'; style-src 'sha256-${sha256(CSS)}'; script-src 'sha256-${sha256(SCRIPT)}'; img-src data:; base-uri 'none'; form-action 'none'`;
  const doc = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${trusted(csp)}">
<meta name="color-scheme" content="light dark">
<title>${opts.title}</title>
<style>${trusted(CSS)}</style>
</head>
<body>
<header>
<h1>${opts.title}</h1>
${opts.subtitle ? html`<p class="sub">${opts.subtitle}</p>` : ''}
${opts.status ? html`<p class="badge ${opts.status.tone}" id="status">${opts.status.text}</p>` : ''}
</header>
<main>
${opts.body}
</main>
<footer>${opts.footer ?? ''}</footer>
<script>${trusted(SCRIPT)}</script>
</body>
</html>
`;
  return doc.value;
}

/** A titled section. */
export function section(id: string, title: string, ...content: (Html | string)[]): Html {
  return html`<section id="${id}">
<h2>${title}</h2>
${content}
</section>
`;
}

/** A definition list of label and value pairs. */
export function fields(pairs: [string, Html | string | number][]): Html {
  return html`<dl class="fields">${pairs.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`;
}
