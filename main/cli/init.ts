// `router67 init`: writes a starting config from what this machine has — API keys in the environment (referred
// to by variable name, never copied) and a running Ollama — the same detection as the window's first-run page.
import { parseArgs } from 'node:util';
import { ConfigExistsError, detectStarter, offered, starterToml, writeNewConfig } from '../config/starter.js';
import { paths, resolveHome } from '../core/paths.js';
import { clientTrustLines } from '../intercept/doctor.js';
import { EXIT, type Command } from './command.js';

export const initCommand: Command = {
  summary: 'write a starting config.toml from the API keys in your environment and a running Ollama',
  help: `Usage: router67 init [options]

Looks for API keys in the environment (ANTHROPIC_API_KEY, OPENAI_API_KEY,
OPENROUTER_API_KEY, DEEPSEEK_API_KEY, GROQ_API_KEY, MISTRAL_API_KEY, XAI_API_KEY;
GEMINI_API_KEY is reported but not offered) and for Ollama on 127.0.0.1:11434
(its model list), prints what it found, and writes config.toml with a provider
for each: keys are referred to by variable name (value_env), never copied.
Then it lists the installed Claude Code / Codex and the trust line each needs
(as "router67 doctor" prints them).

Options:
  --config PATH       where to write (default: <home>/config.toml)
  --only LIST         comma-separated providers to include (e.g. anthropic,ollama)
  --skip LIST         comma-separated providers to leave out
  --ollama URL        where to look for Ollama (default http://127.0.0.1:11434)
  --dry-run           print the config instead of writing it
  --force             replace an existing config (default: refuse)
  -h, --help          this help

Exit codes: 0 written, 1 failure (the file exists without --force), 2 usage.`,
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        config: { type: 'string' },
        only: { type: 'string' },
        skip: { type: 'string' },
        ollama: { type: 'string' },
        'dry-run': { type: 'boolean' },
        force: { type: 'boolean' },
      },
      strict: true,
    });
    const home = resolveHome();
    const file = values.config ?? paths(home).config;
    const d = await detectStarter({ ...(values.ollama ? { ollamaUrl: values.ollama } : {}) });
    const list = (s: string | undefined) => new Set((s ?? '').split(',').map((x) => x.trim()).filter(Boolean));
    const only = list(values.only);
    const skip = list(values.skip);
    const known = new Set(d.entries.map((e) => e.provider));
    for (const n of [...only, ...skip]) {
      if (!known.has(n)) {
        process.stderr.write(`router67 init: unknown provider "${n}" (known: ${[...known].join(', ')})\n`);
        return EXIT.usage;
      }
    }
    const out: string[] = ['Found:'];
    for (const e of d.entries) {
      if (e.kind === 'ollama') {
        out.push(
          e.found
            ? `  yes  Ollama at ${d.ollama.url}: ${e.models.length ? e.models.join(', ') : 'no models pulled yet (not added)'}`
            : `  no   Ollama at ${d.ollama.url} (${d.ollama.detail ?? 'not found'})`,
        );
      } else if (e.found && e.notOffered) out.push(`  yes  ${e.env} (${e.title}): not added — ${e.notOffered}`);
      else out.push(`  ${e.found ? 'yes' : 'no '}  ${e.env} (${e.title})`);
    }
    const chosen = offered(d).filter((e) => (only.size === 0 || only.has(e.provider)) && !skip.has(e.provider));
    const { text, providers } = starterToml(d, chosen.map((e) => e.id));
    out.push('', providers.length ? `Providers: ${providers.join(', ')}` : 'Providers: none found (the config has the defaults; add providers in the window or by hand)');
    process.stdout.write(out.join('\n') + '\n');
    if (values['dry-run']) {
      process.stdout.write(`\n${text}`);
      return EXIT.ok;
    }
    try {
      writeNewConfig(file, text, { force: values.force === true });
    } catch (e) {
      if (e instanceof ConfigExistsError) {
        process.stderr.write(`router67 init: ${e.message}\n`);
        return EXIT.failure;
      }
      throw e;
    }
    process.stdout.write(`\nwrote ${file} (keys stay in your environment; the file refers to them by name)\n`);
    const { lines, caExists } = await clientTrustLines({ home });
    if (lines.length) {
      process.stdout.write(`\nInstalled clients and the line each needs to trust router67${caExists ? '' : ' (once "router67 install" has set up interception)'}:\n`);
      for (const c of lines) {
        process.stdout.write(`  ${c.client}:\n`);
        for (const l of c.lines) process.stdout.write(`    ${l}\n`);
        if (c.note) process.stdout.write(`    (${c.note})\n`);
      }
    }
    process.stdout.write(`\nNext: "router67 install" sets up interception (one password prompt), then "router67 daemon".\n`);
    return EXIT.ok;
  },
};
