/**
 * Commands that set pay up: channels (list, check), sandbox (local simulators), demo and config.
 * Flags and help only: each action lazy-imports its command module.
 */
import type { Command } from 'commander';
import { collect, execute, globalsOf, type Register } from './run.js';

/** pay channels */
export const channelsCommand: Register = (program) => {
  const channels = program.command('channels').description('channels pay can speak to');
  channels
    .command('list')
    .description('every channel with its capabilities')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/channels.js');
        return m.presentList(await m.listChannels(ctx));
      }),
    );
  channels
    .command('check')
    .description("validate a channel's config and, where it can, reach it (all configured channels by default)")
    .argument('[id]', 'channel id or path')
    .addHelpText('after', '\nExamples:\n  $ pay channels check\n  $ pay channels check alipay --profile sandbox')
    .action(async (id: string | undefined, _opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/channels.js');
        return m.presentCheck(await m.checkChannels(id, ctx));
      }),
    );
};

/** pay sandbox */
export const sandboxCommand: Register = (program) => {
  program
    .command('sandbox')
    .description('run local simulators of the real channels on loopback and write a "sandbox" profile for them')
    .option('--port <n>', 'base port: channel i listens on n+i (default 0: free ports)')
    .option('--channel <id>', 'serve only this channel, repeatable (default: all)', collect)
    .option('--write-profile', 'write profiles.sandbox into the config file (the default unless --print-profile is given alone)')
    .option('--print-profile', 'print the profile (keys as file: references) instead of writing it')
    .option('--webhook-url <url>', 'where simulators send webhooks when a request names no notify URL (Stripe, PayPal)')
    .addHelpText(
      'after',
      `
Runs until Ctrl-C. Generated test keys are saved beside the config in .pay-sandbox/ (mode 0600).

Examples:
  $ pay sandbox
  $ pay sandbox --port 9100 --channel alipay --channel wechatpay
  $ pay create --profile sandbox --channel alipay --amount 0.01 --currency CNY`,
    )
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/sandbox.js');
        await m.sandbox(opts, globalsOf(cmd).config, ctx);
        return m.stopped();
      }),
    );
};

/** pay demo */
export const demoCommand: Register = (program) => {
  program
    .command('demo')
    .description('guided tour: a whole payment lifecycle on every channel (mock and local simulators), no credentials needed')
    .addHelpText('after', '\nExamples:\n  $ pay demo\n  $ pay demo --db /tmp/demo.db && pay orders list --db /tmp/demo.db')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/demo.js');
        return m.presentDemo(await m.demo(ctx));
      }),
    );
};

/** pay config */
export const configCommand: Register = (program) => {
  const config = program.command('config').description('configuration file');
  config
    .command('init')
    .description('write a starter pay.config.json: a commented section per channel, secrets as env: references')
    .option('--channel <id>', 'only this channel (besides mock), repeatable (default: every channel)', collect)
    .option('--force', 'overwrite an existing file')
    .addHelpText('after', '\nExamples:\n  $ pay config init\n  $ pay config init --channel alipay --channel stripe --force')
    .action(async (opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/config.js');
        return m.presentInit(await m.configInit(opts, globalsOf(cmd).config, ctx));
      }),
    );
  config
    .command('show')
    .description('the effective configuration, secrets masked')
    .action(async (_opts, cmd: Command) =>
      execute(cmd, async (ctx) => {
        const m = await import('../commands/config.js');
        return m.presentShow(await m.configShow(ctx));
      }),
    );
};
