// `router67 login <name> [--device]`: signs in to OpenRouter (built in) or an [oauth.<name>] provider, in the system
// browser; the token or key goes to the OS keychain.
import { parseArgs } from 'node:util';
import { paths, resolveHome } from '../core/paths.js';
import { browserOpener, openBrowser } from '../oauth/browser.js';
import { cliDispatcher, loadConfigOrDefault, notifyDaemon } from '../oauth/cli.js';
import { SignInError, type Progress } from '../oauth/flows.js';
import { OAuthManager } from '../oauth/manager.js';
import { SecretStore } from '../secrets/store.js';
import { EXIT, type Command } from './command.js';

export const loginCommand: Command = {
  summary: 'sign in to OpenRouter or an OAuth/OpenID Connect provider (tokens go to the OS keychain)',
  help: `Usage: router67 login <name> [--device] [--no-browser] [--timeout SECONDS] [--config PATH]

Signs router67 in, in your system browser. Tokens and keys go to the OS keychain,
never to config.toml or a log.

  openrouter   built in: OpenRouter's PKCE sign-in. The key it returns is stored in
               the keychain and provider "openrouter" is created (or updated) to use it.
  <name>       an OAuth 2 / OpenID Connect provider described by [oauth.<name>] in
               config.toml (issuer or endpoints, client_id, scopes); providers use it
               with auth = { oauth = "<name>" }.

The sign-in page's URL is printed; the browser opens it too when there is one.
Ctrl-C cancels; nothing is stored unless the sign-in completes.

Options:
  --device           device-code sign-in (RFC 8628) for machines without a browser
  --no-browser       only print the URL
  --timeout SECONDS  how long to wait for the browser (default 300)
  --config PATH      config file (default: <home>/config.toml)
  -h, --help         this help

Not offered: Claude.ai (Free/Pro/Max) and Gemini CLI subscription sign-in; their
terms forbid third-party apps from using those credentials.

Exit codes: 0 signed in, 1 failure, 2 usage, 130 cancelled.`,
  async run(args) {
    const { values, positionals } = parseArgs({
      args,
      options: { device: { type: 'boolean' }, 'no-browser': { type: 'boolean' }, timeout: { type: 'string' }, config: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    });
    if (positionals.length !== 1) {
      process.stderr.write('router67 login: name one credential, e.g. "router67 login openrouter"\n');
      return EXIT.usage;
    }
    const name = positionals[0]!;
    const timeoutS = values.timeout === undefined ? 300 : Number(values.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) {
      process.stderr.write('router67 login: --timeout must be a positive number of seconds\n');
      return EXIT.usage;
    }
    const home = resolveHome();
    const configPath = values.config ?? paths(home).config;
    const config = loadConfigOrDefault(configPath);
    const store = await SecretStore.open();
    const dispatcher = await cliDispatcher(config);
    const manager = new OAuthManager({ vault: store, config: () => config, configPath, http: () => ({ dispatcher }) });
    if (!manager.credential(name)) {
      const known = manager.names();
      process.stderr.write(`router67 login: no [oauth.${name}] table in ${configPath}; known: ${known.join(', ')}\n`);
      return EXIT.usage;
    }

    const abort = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      if (++interrupts > 1) process.exit(130);
      abort.abort();
    };
    process.on('SIGINT', onSigint);
    const opener = values['no-browser'] ? undefined : browserOpener();
    let shown = '';
    const progress = (p: Progress) => {
      if (p.phase === 'browser' && shown !== p.url) {
        shown = p.url;
        process.stdout.write(`${p.opened ? 'Your browser shows the sign-in page. If it did not open, open' : 'Open'} this page to sign in:\n\n  ${p.url}\n\n`);
      } else if (p.phase === 'device' && shown !== p.userCode) {
        shown = p.userCode;
        process.stdout.write(`On any device, open\n\n  ${p.verificationUri}\n\nand enter the code  ${p.userCode}\n\n`);
        if (p.verificationUriComplete) process.stdout.write(`(or open ${p.verificationUriComplete} directly)\n`);
      } else if (p.phase === 'exchanging') process.stdout.write('Signing in…\n');
    };
    try {
      const r = await manager.login(name, {
        device: values.device === true,
        signal: abort.signal,
        timeoutMs: timeoutS * 1000,
        onProgress: progress,
        ...(opener ? { open: (url: string) => openBrowser(url, opener) } : {}),
      });
      process.stdout.write(`${r.message}\n`);
      if (r.type === 'openrouter' && r.created) {
        process.stdout.write(`Provider "${r.provider}" was added to ${configPath}; give it models under [providers.available_models].\n`);
      }
      if (await notifyDaemon(home, { names: [name], accounts: r.accounts })) process.stdout.write('The running router67 uses it now.\n');
      return EXIT.ok;
    } catch (e) {
      if (e instanceof SignInError && e.kind === 'cancelled') {
        process.stderr.write('router67 login: cancelled; nothing was stored\n');
        return 130;
      }
      process.stderr.write(`router67 login: ${(e as Error).message}\n`);
      return EXIT.failure;
    } finally {
      process.off('SIGINT', onSigint);
      await dispatcher.close().catch(() => {});
    }
  },
};
