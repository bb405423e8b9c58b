// The JSON Schema of config.toml, generated from the zod schema the core validates with (z.toJSONSchema), for
// editor completion: TOML language servers (Taplo / Even Better TOML) read the `#:schema` directive at the top of
// the file. router67 writes it into its home as config.schema.json (`router67 install`, `router67 schema --write`).
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { VERSION } from '../core/version.js';
import { ConfigSchema } from './schema.js';

export const SCHEMA_FILE = 'config.schema.json';

export function configJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any', target: 'draft-7' }) as Record<string, unknown>;
  return {
    ...s,
    $id: `https://router67.local/config.schema.json?v=${VERSION}`,
    title: 'router67 config.toml',
    description: `router67 ${VERSION}: providers, routes, daemon settings. Generated from the schema router67 validates with.`,
  };
}

export function schemaPath(home: string): string {
  return join(home, SCHEMA_FILE);
}

/** Writes the schema file into router67's home; returns its path. */
export function writeSchemaFile(home: string): string {
  const file = schemaPath(home);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(configJsonSchema(), null, 2) + '\n', { mode: 0o644 });
  return file;
}

/** The `#:schema` directive for a config file at `configPath` (relative when the schema sits beside it). */
export function schemaDirective(configPath: string, home: string): string {
  const file = schemaPath(home);
  const rel = relative(dirname(configPath), file);
  const ref = !rel.startsWith('..') && !rel.includes(':') ? `./${rel.split(sep).join('/')}` : pathToFileURL(file).href;
  return `#:schema ${ref}`;
}
