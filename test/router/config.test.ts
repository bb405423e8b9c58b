// Config: router67's own file works unchanged; errors say file, line, key path and what was expected.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, locate, parseConfig } from '../../main/config/load.js';

const ROUTER67_EXAMPLE = `intercept_hosts = ["api.anthropic.com", "api.openai.com", "openrouter.ai"]

[daemon]
listen          = "127.0.67.1:443"   # loopback IP + :443
log_level       = "info"
max_connections = 32

[[providers]]
name     = "anthropic"
base_url = "https://api.anthropic.com"
auth     = { header = "x-api-key", value_env = "ANTHROPIC_API_KEY" }
extra_headers = { "anthropic-version" = "2023-06-01" }

[providers.available_models]
"claude-sonnet-4.6" = "claude-sonnet-4-5-20250929"

[[providers]]
name     = "openrouter"
base_url = "https://openrouter.ai/api"
auth     = { header = "Authorization", prefix = "Bearer ", value_env = "OPENROUTER_API_KEY" }

[providers.available_models]
"claude-sonnet-4.6" = "anthropic/claude-sonnet-4.6"
`;

function issuesOf(text: string) {
  try {
    parseConfig(text, '/tmp/c.toml');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    return e.issues;
  }
  assert.fail('expected a ConfigError');
}

describe('config', () => {
  it('accepts router67’s README config unchanged, with our defaults added', () => {
    const c = parseConfig(ROUTER67_EXAMPLE, 'x.toml');
    assert.deepEqual(c.intercept_hosts, ['api.anthropic.com', 'api.openai.com', 'openrouter.ai']);
    assert.equal(c.daemon.listen, '127.0.67.1:443');
    assert.equal(c.daemon.http_listen, '127.0.0.1:6767');
    assert.equal(c.daemon.max_connections, 32);
    assert.equal(c.providers.length, 2);
    assert.equal(c.providers[1]!.auth?.prefix, 'Bearer ');
    assert.deepEqual(c.providers[1]!.available_models, { 'claude-sonnet-4.6': 'anthropic/claude-sonnet-4.6' });
    assert.deepEqual(c.providers[0]!.extra_headers, { 'anthropic-version': '2023-06-01' });
  });

  it('keeps unknown keys (forward compatible) and accepts format', () => {
    const c = parseConfig(`future_key = 1\n[[providers]]\nname="x"\nbase_url="http://127.0.0.1:1"\nformat="ollama"\nweight=3\n`, 'x.toml');
    assert.equal((c as Record<string, unknown>).future_key, 1);
    assert.equal(c.providers[0]!.format, 'ollama');
  });

  it('reports a TOML syntax error with its line and column', () => {
    const [i] = issuesOf('[daemon]\nlisten = "127.0.0.1:1"\nlog_level = \n');
    assert.equal(i!.line, 3);
    assert.match(i!.message, /TOML syntax error/);
  });

  it('names the line and key path of a schema error', () => {
    const text = ROUTER67_EXAMPLE.replace('value_env = "OPENROUTER_API_KEY"', 'value_env = "OPENROUTER_API_KEY", api_key = "sk-x"');
    const issues = issuesOf(text);
    assert.equal(issues.length, 1);
    assert.equal(issues[0]!.path, 'providers[1].auth');
    assert.equal(issues[0]!.line, 20);
    assert.match(issues[0]!.message, /exactly one/);
    assert.doesNotMatch(new ConfigError(issues).message, /sk-x/, 'the error never repeats a secret');
  });

  it('explains a wrong type and a missing field', () => {
    const issues = issuesOf(`[daemon]\nmax_connections = "many"\n\n[[providers]]\nbase_url = "https://x.example"\n`);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
    assert.equal(byPath['daemon.max_connections']!.line, 2);
    assert.match(byPath['daemon.max_connections']!.message, /number/);
    assert.equal(byPath['providers[0].name']!.line, 4);
    assert.match(byPath['providers[0].name']!.message, /missing/);
    assert.match(new ConfigError(issues).message, /^\/?.*:2: daemon\.max_connections: /m);
  });

  it('rejects a bad base_url, a bad listen address and duplicate names', () => {
    const issues = issuesOf(`[daemon]\nhttp_listen = "localhost"\n[[providers]]\nname = "a"\nbase_url = "not a url"\n[[providers]]\nname = "a"\nbase_url = "ftp://x.example"\n`);
    const paths = issues.map((i) => i.path).sort();
    assert.deepEqual(paths, ['daemon.http_listen', 'providers[0].base_url', 'providers[1].base_url', 'providers[1].name']);
  });

  it('locates keys in nested tables and inline tables', () => {
    assert.equal(locate(ROUTER67_EXAMPLE, ['providers', 1, 'available_models', 'claude-sonnet-4.6']), 23);
    assert.equal(locate(ROUTER67_EXAMPLE, ['providers', 0, 'auth', 'value_env']), 11);
    assert.equal(locate(ROUTER67_EXAMPLE, ['daemon', 'max_connections']), 6);
  });
});
