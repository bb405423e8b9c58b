// `router67 schema`: the JSON Schema of config.toml (for editors), printed or written into router67's home.
import { parseArgs } from 'node:util';
import { resolveHome } from '../core/paths.js';
import { EXIT, type Command } from './command.js';

export const schemaCommand: Command = {
  summary: 'print the JSON Schema of config.toml (editor completion)',
  help: `Usage: router67 schema [--write]

Prints the JSON Schema of config.toml, generated from the schema router67
validates with. TOML editors (Taplo, Even Better TOML) use it through the
directive on the config's first line:

  #:schema ./config.schema.json

Options:
  --write     write it to <home>/config.schema.json (router67 install does too)
  -h, --help  this help`,
  async run(args) {
    const { values } = parseArgs({ args, options: { write: { type: 'boolean' } }, strict: true });
    const js = await import('../config/json-schema.js');
    if (values.write) {
      process.stdout.write(`wrote ${js.writeSchemaFile(resolveHome())}\n`);
      return EXIT.ok;
    }
    process.stdout.write(JSON.stringify(js.configJsonSchema(), null, 2) + '\n');
    return EXIT.ok;
  },
};
