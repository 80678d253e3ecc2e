/**
 * The PostgreSQL {@link OrderImport}: rows are streamed with COPY into temporary tables on a
 * connection of its own; the checks and the write are staged-order-import.ts's SQL, run on the
 * server, the write in one transaction on that connection. The client holds one batch at a time.
 */
import type { ImportRow } from './order-import.js';
import type { PgDb, PgSession } from './pg-db.js';
import { copyText } from './copy-value.js';
import { CopyIn } from './pg-reconcile-store.js';
import { IMPORT_COLUMNS, importValues, StagedOrderImport } from './staged-order-import.js';

/** The import of one file into one PostgreSQL order book. */
export class PgOrderImport extends StagedOrderImport {
  protected readonly jsonObject = 'json_build_object';
  private copy: CopyIn | undefined;

  private constructor(private readonly session: PgSession) {
    super();
  }

  static async open(db: PgDb): Promise<PgOrderImport> {
    return new PgOrderImport(await db.session());
  }

  async begin(): Promise<void> {
    await this.run('DROP TABLE IF EXISTS pg_temp.imp, pg_temp.imp_err');
    await this.run(`
      CREATE TEMP TABLE imp (
        line BIGINT NOT NULL, k TEXT COLLATE "C" NOT NULL, kind TEXT COLLATE "C" NOT NULL, order_no TEXT COLLATE "C" NOT NULL, refund_no TEXT COLLATE "C",
        channel TEXT COLLATE "C" NOT NULL, amount BIGINT NOT NULL, currency TEXT COLLATE "C" NOT NULL, status TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL, paid_at TEXT COLLATE "C", trade_no TEXT COLLATE "C", bad SMALLINT NOT NULL DEFAULT 0, action TEXT COLLATE "C"
      )`);
    await this.run('CREATE TEMP TABLE imp_err (seq BIGSERIAL PRIMARY KEY, line BIGINT NOT NULL, order_no TEXT, refund_no TEXT, message TEXT NOT NULL)');
  }

  async stage(rows: readonly ImportRow[]): Promise<void> {
    if (rows.length === 0) return;
    this.copy ??= await this.session.guard(() => CopyIn.start(this.session.client, `COPY imp (${IMPORT_COLUMNS.join(', ')}) FROM STDIN`));
    let text = '';
    for (const r of rows) text += `${importValues(r).map(copyText).join('\t')}\n`;
    await this.session.guard(() => this.copy!.write(text));
  }

  /** Ends the COPY (before the checks run) and refreshes the stage's statistics. */
  protected async analyze(): Promise<void> {
    await this.run('ANALYZE imp');
  }

  override async check(): Promise<void> {
    if (this.copy) await this.session.guard(() => this.copy!.end());
    this.copy = undefined;
    await super.check();
  }

  async end(): Promise<void> {
    // A COPY left open (the import failed while reading) makes the connection unusable.
    if (this.copy) this.session.abandon('import abandoned during COPY');
    if (this.session.usable) await this.run('DROP TABLE IF EXISTS pg_temp.imp, pg_temp.imp_err').catch(() => {});
    this.session.release();
  }

  protected async all(sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
    return (await this.session.query(sql, params, true)).rows;
  }

  protected async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.session.query(sql, params, true)).rowCount ?? 0;
  }

  protected transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.session.transaction(fn);
  }

  protected now(): string {
    return this.session.db.now();
  }
}
