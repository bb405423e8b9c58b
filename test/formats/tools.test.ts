// Tools in translation: Responses namespaces flattened (and the calls given back with their namespace),
// free-form (custom) tools as one-string functions (and their calls back as custom tool calls), hosted/server
// tools mapped or left out (x-router67-dropped, the log's translationNotes), strict_tools refusing instead,
// tool names valid for the target, Claude Code's tool search pieces for non-Anthropic targets.
import { test, describe, before, after, beforeEach, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { UnsupportedFeatureError, translateRequest, translateResponse, type Dialect } from '../../main/formats/index.js';
import { eventually, provider, startCore, type TestCore } from '../helpers/core.js';
import { chunked, parseSse, sse, translateStream } from './helpers.js';
import { createStreamTranslator } from '../../main/formats/index.js';

const ANTHROPIC_NAME = /^[a-zA-Z0-9_-]{1,128}$/;
const OPENAI_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const PATCH = '*** Begin Patch\n*** Add File: a.txt\n+hi "there"\n*** End Patch\n';

/** What Codex CLI sends by default (plus the hosted tools it can send). */
const CODEX_TOOLS = [
  { type: 'function', name: 'exec_command', description: 'Run a shell command', parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] }, strict: false },
  {
    type: 'namespace',
    name: 'multi_agent_v1',
    description: 'Sub-agents.',
    tools: [
      { type: 'function', name: 'spawn_agent', description: 'Spawn one', parameters: { type: 'object', properties: { task: { type: 'string' } } } },
      { type: 'function', name: 'wait', parameters: { type: 'object', properties: {} } },
    ],
  },
  { type: 'custom', name: 'apply_patch', description: 'Edit files', format: { type: 'grammar', syntax: 'lark', definition: 'start: "*** Begin Patch" ...' } },
  { type: 'web_search', external_web_access: false },
  { type: 'image_generation' },
];

const tr = (from: Dialect, to: Dialect, body: unknown, strict = false) => translateRequest(from, to, body, 'up-model', { wantUsage: true, strictTools: strict });

test('responses → anthropic / openai: a namespace flattens to ns__name, custom becomes a one-string function, hosted tools map or are dropped', () => {
  const body = { model: 'm', input: 'hi', tools: [...CODEX_TOOLS, { type: 'web_search', filters: { allowed_domains: ['example.com'] }, user_location: { type: 'approximate', city: 'Oslo', region: null } }] };
  const a = tr('responses', 'anthropic', body);
  const tools = (a.body as any).tools as any[];
  assert.deepEqual(
    tools.map((t) => t.name),
    ['exec_command', 'multi_agent_v1__spawn_agent', 'multi_agent_v1__wait', 'apply_patch', 'web_search'],
  );
  for (const t of tools) assert.match(t.name, ANTHROPIC_NAME);
  const spawn = tools[1];
  assert.equal(spawn.description, 'Sub-agents.\n\nSpawn one', 'the namespace description travels with its members');
  assert.deepEqual(spawn.input_schema, { type: 'object', properties: { task: { type: 'string' } } });
  const patch = tools[3];
  assert.deepEqual(patch.input_schema.required, ['input']);
  assert.equal(patch.input_schema.properties.input.type, 'string');
  assert.match(patch.input_schema.properties.input.description, /lark grammar:\nstart: "\*\*\* Begin Patch"/);
  assert.deepEqual(tools[4], { type: 'web_search_20250305', name: 'web_search', allowed_domains: ['example.com'], user_location: { type: 'approximate', city: 'Oslo' } });
  assert.deepEqual(a.dropped, ['web_search', 'image_generation'], 'the cached-only web_search and image_generation are left out');
  assert.ok(a.notes.some((n) => /flattened namespace multi_agent_v1 \(2 tools\)/.test(n)), a.notes.join('\n'));
  assert.ok(a.notes.some((n) => /free-form tool apply_patch/.test(n)));
  assert.ok(a.notes.some((n) => /mapped tool web_search → Anthropic web_search_20250305/.test(n)));
  assert.ok(a.notes.some((n) => /dropped tool image_generation/.test(n)));
  assert.ok(a.notes.some((n) => /external_web_access: false/.test(n)));
  assert.deepEqual(Object.fromEntries(a.toolNames!), {
    multi_agent_v1__spawn_agent: { name: 'spawn_agent', namespace: 'multi_agent_v1' },
    multi_agent_v1__wait: { name: 'wait', namespace: 'multi_agent_v1' },
    apply_patch: { name: 'apply_patch', custom: true },
  });

  const o = tr('responses', 'openai', body);
  const otools = (o.body as any).tools as any[];
  assert.deepEqual(
    otools.map((t) => t.function.name),
    ['exec_command', 'multi_agent_v1__spawn_agent', 'multi_agent_v1__wait', 'apply_patch'],
  );
  assert.ok(otools.every((t) => t.type === 'function' && OPENAI_NAME.test(t.function.name)));
  assert.deepEqual(o.dropped, ['web_search', 'image_generation']);

  const l = tr('responses', 'ollama', body);
  assert.deepEqual(
    ((l.body as any).tools as any[]).map((t) => t.function.name),
    ['exec_command', 'multi_agent_v1__spawn_agent', 'multi_agent_v1__wait', 'apply_patch'],
  );
  assert.deepEqual(l.dropped, ['web_search', 'image_generation']);
});

test('tool names stay valid for the target and never collide; the calls map back exactly', () => {
  const long = 'x'.repeat(70);
  const body = {
    model: 'm',
    input: 'hi',
    tools: [
      { type: 'function', name: 'ns__a', parameters: { type: 'object' } }, // a plain tool spelled like a flattened one
      { type: 'namespace', name: 'ns', description: '', tools: [{ type: 'function', name: 'a' }, { type: 'function', name: long }] },
      { type: 'namespace', name: 'ns_', description: '', tools: [{ type: 'function', name: '_a' }] }, // flattens to ns__a as well
    ],
  };
  for (const [to, re, limit] of [['anthropic', ANTHROPIC_NAME, 128], ['openai', OPENAI_NAME, 64]] as const) {
    const t = tr('responses', to, body);
    const names: string[] = ((t.body as any).tools as any[]).map((x) => x.name ?? x.function.name);
    assert.equal(new Set(names).size, names.length, `unique: ${names}`);
    for (const n of names) assert.match(n, re);
    assert.equal(names[0], 'ns__a', 'a plain tool keeps its name');
    assert.equal(names[2]!.length <= limit, true);
    if (to === 'anthropic') assert.equal(names[2], `ns__${long}`);
    else assert.notEqual(names[2], `ns__${long}`);
    // every upstream name maps back to what the client called it
    const back = names.map((n) => t.toolNames?.get(n) ?? { name: n });
    assert.deepEqual(back, [{ name: 'ns__a' }, { name: 'a', namespace: 'ns' }, { name: long, namespace: 'ns' }, { name: '_a', namespace: 'ns_' }]);
  }
  // a client function named like the server tool it is mapped to does not collide with it; a second web search is not sent twice
  const ws = tr('responses', 'anthropic', {
    model: 'm',
    input: 'hi',
    tools: [{ type: 'function', name: 'web_search', parameters: { type: 'object' } }, { type: 'web_search' }, { type: 'web_search_preview' }],
  });
  const wsTools = (ws.body as any).tools as any[];
  assert.deepEqual(wsTools.map((x) => x.type ?? 'function'), ['function', 'web_search_20250305']);
  assert.equal(wsTools[1].name, 'web_search');
  assert.notEqual(wsTools[0].name, 'web_search');
  assert.deepEqual(ws.toolNames?.get(wsTools[0].name), { name: 'web_search' });

  // Anthropic's 128-character names get shorter for OpenAI-shaped targets
  const a128 = 'y'.repeat(128);
  const t = tr('anthropic', 'responses', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], tools: [{ name: a128, input_schema: { type: 'object' } }] });
  const n = ((t.body as any).tools as any[])[0].name as string;
  assert.match(n, OPENAI_NAME);
  assert.deepEqual(t.toolNames?.get(n), { name: a128 });
  assert.ok(t.notes.some((x) => /renamed 1 tool/.test(x)));
});

test('history: namespaced and custom calls go up flattened and wrapped, their outputs as tool results; hosted-tool records are left out', () => {
  const body = {
    model: 'm',
    tools: CODEX_TOOLS,
    input: [
      { type: 'message', role: 'user', content: 'go' },
      { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'q' } },
      { type: 'function_call', call_id: 'call_1', namespace: 'multi_agent_v1', name: 'spawn_agent', arguments: '{"task":"t"}' },
      { type: 'custom_tool_call', call_id: 'call_2', name: 'apply_patch', input: PATCH },
      { type: 'function_call_output', call_id: 'call_1', output: 'spawned' },
      { type: 'custom_tool_call_output', call_id: 'call_2', output: 'Done!' },
    ],
  };
  const a = tr('responses', 'anthropic', body).body as any;
  assert.deepEqual(a.messages, [
    { role: 'user', content: [{ type: 'text', text: 'go' }] },
    {
      role: 'assistant',
      content: [
        { type: 'tool_use', id: 'call_1', name: 'multi_agent_v1__spawn_agent', input: { task: 't' } },
        { type: 'tool_use', id: 'call_2', name: 'apply_patch', input: { input: PATCH } },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: 'call_1', content: [{ type: 'text', text: 'spawned' }] },
        { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: 'Done!' }] },
      ],
    },
  ]);
  const t = tr('responses', 'openai', body);
  const msgs = (t.body as any).messages;
  assert.deepEqual(msgs[1].tool_calls, [
    { id: 'call_1', type: 'function', function: { name: 'multi_agent_v1__spawn_agent', arguments: '{"task":"t"}' } },
    { id: 'call_2', type: 'function', function: { name: 'apply_patch', arguments: JSON.stringify({ input: PATCH }) } },
  ]);
  assert.ok(t.notes.some((n) => /left 1 earlier hosted-tool record \(web_search_call\)/.test(n)), t.notes.join('\n'));
  // the record of a search that already ran takes no tool away: strict_tools sends the request without it
  const strict = tr('responses', 'anthropic', { ...body, tools: [CODEX_TOOLS[1], { type: 'web_search' }] }, true);
  assert.equal((strict.body as any).messages.length, 3);
  assert.deepEqual(strict.dropped, []);
});

test('strict_tools: anything that would be left out refuses the attempt instead', () => {
  assert.throws(
    () => tr('responses', 'anthropic', { model: 'm', input: 'hi', tools: CODEX_TOOLS }, true),
    (e: unknown) => e instanceof UnsupportedFeatureError && /cannot express tool web_search .*strict_tools is on/.test(e.message),
  );
  // flattening and mapping are not refusals
  const ok = tr('responses', 'anthropic', { model: 'm', input: 'hi', tools: CODEX_TOOLS.slice(0, 3) }, true);
  assert.deepEqual(ok.dropped, []);
  assert.throws(() => tr('anthropic', 'openai', { model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }], mcp_servers: [{ type: 'url', url: 'https://x', name: 'x' }] }, true), /mcp_servers/);
});

const CLAUDE_CODE = {
  model: 'claude-x',
  max_tokens: 100,
  mcp_servers: [{ type: 'url', url: 'https://mcp.example.com', name: 'ex' }],
  container: 'cntr_1',
  tools: [
    { name: 'Bash', description: 'Run', input_schema: { type: 'object', properties: { command: { type: 'string' } } } },
    { name: 'mcp__github__create_issue', description: 'Issue', input_schema: { type: 'object', properties: {} }, defer_loading: true },
    { name: 'ToolSearch', description: 'Find tools', input_schema: { type: 'object', properties: { query: { type: 'string' } } } },
    { type: 'web_search_20250305', name: 'web_search', max_uses: 3, allowed_domains: ['docs.example.com'] },
    { type: 'web_fetch_20250910', name: 'web_fetch' },
    { type: 'code_execution_20250825', name: 'code_execution' },
    { type: 'tool_search_tool_regex_20251119', name: 'tool_search_tool_regex' },
  ],
  messages: [
    { role: 'user', content: 'find the issue tool' },
    {
      role: 'assistant',
      content: [
        { type: 'server_tool_use', id: 'srvtoolu_1', name: 'web_search', input: { query: 'q' } },
        { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_1', content: [{ type: 'web_search_result', url: 'https://x', title: 'x', encrypted_content: 'E' }] },
        { type: 'text', text: 'Searching tools.' },
        { type: 'tool_use', id: 'toolu_1', name: 'ToolSearch', input: { query: 'github' } },
      ],
    },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'tool_reference', tool_name: 'mcp__github__create_issue' }] }] },
  ],
};

test('anthropic (Claude Code) → openai / responses: server tools, tool search, defer_loading, tool_reference, mcp_servers', () => {
  const o = tr('anthropic', 'openai', CLAUDE_CODE);
  const b = o.body as any;
  assert.deepEqual(
    b.tools.map((t: any) => t.function.name),
    ['Bash', 'mcp__github__create_issue', 'ToolSearch'],
  );
  assert.ok(!JSON.stringify(b).includes('defer_loading'));
  assert.deepEqual(o.dropped, ['mcp_servers', 'container', 'web_search_20250305', 'web_fetch_20250910', 'code_execution_20250825', 'tool_search_tool_regex_20251119']);
  assert.deepEqual(b.messages.slice(1), [
    { role: 'assistant', content: 'Searching tools.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'ToolSearch', arguments: '{"query":"github"}' } }] },
    { role: 'tool', tool_call_id: 'toolu_1', content: 'Tool mcp__github__create_issue loaded.' },
  ]);
  assert.ok(o.notes.some((n) => /sent 1 deferred \(defer_loading\) tool up front/.test(n)));
  assert.ok(o.notes.some((n) => /left 2 earlier hosted-tool records \(server_tool_use, web_search_tool_result\)/.test(n)), o.notes.join('\n'));
  assert.ok(o.notes.some((n) => /mapped 1 tool_reference block to text/.test(n)));

  // Anthropic-defined client tools with a documented input become function tools of the same name
  const c = tr('anthropic', 'openai', {
    ...CLAUDE_CODE,
    tools: [
      { type: 'bash_20250124', name: 'bash' },
      { type: 'text_editor_20250728', name: 'str_replace_based_edit_tool', max_characters: 1000 },
      { type: 'computer_20250124', name: 'computer', display_width_px: 800, display_height_px: 600 },
    ],
  });
  assert.deepEqual(
    (c.body as any).tools.map((t: any) => [t.function.name, Object.keys(t.function.parameters.properties)]),
    [
      ['bash', ['command', 'restart']],
      ['str_replace_based_edit_tool', ['command', 'path', 'file_text', 'old_str', 'new_str', 'insert_line', 'view_range']],
    ],
  );
  assert.ok(c.dropped.includes('computer_20250124'));
  assert.equal(c.toolNames, undefined, 'same names: nothing to map back');

  const r = tr('anthropic', 'responses', CLAUDE_CODE);
  const rt = (r.body as any).tools as any[];
  assert.deepEqual(rt[3], { type: 'web_search', filters: { allowed_domains: ['docs.example.com'] } });
  assert.ok(r.notes.some((n) => /web_search_20250305 → Responses web_search \(without max_uses\)/.test(n)));
  assert.ok(!r.dropped.includes('web_search_20250305'));
});

test('chat client: custom tools go up as functions and come back as custom tool calls (whole and streamed)', () => {
  const body = {
    model: 'm',
    messages: [
      { role: 'user', content: 'patch it' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'custom', custom: { name: 'apply_patch', input: PATCH } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'ok' },
    ],
    tools: [{ type: 'custom', custom: { name: 'apply_patch', description: 'Edit' } }],
  };
  const t = tr('openai', 'anthropic', body);
  const a = t.body as any;
  assert.equal(a.tools[0].name, 'apply_patch');
  assert.deepEqual(a.tools[0].input_schema.required, ['input']);
  assert.deepEqual(a.messages[1].content[0], { type: 'tool_use', id: 'c1', name: 'apply_patch', input: { input: PATCH } });
  // to Responses the free-form tool stays free-form
  const r = tr('openai', 'responses', body).body as any;
  assert.deepEqual(r.tools[0], { type: 'custom', name: 'apply_patch', description: 'Edit' });
  assert.deepEqual(r.input[1], { type: 'custom_tool_call', call_id: 'c1', name: 'apply_patch', input: PATCH });
  assert.deepEqual(r.input[2], { type: 'custom_tool_call_output', call_id: 'c1', output: 'ok' });

  const upstream = { id: 'msg_1', type: 'message', role: 'assistant', model: 'x', content: [{ type: 'tool_use', id: 'toolu_9', name: 'apply_patch', input: { input: PATCH } }], stop_reason: 'tool_use', usage: { input_tokens: 3, output_tokens: 4 } };
  const whole = translateResponse('anthropic', 'openai', upstream, { requestedModel: 'm', ...(t.toolNames ? { toolNames: t.toolNames } : {}) }) as any;
  assert.deepEqual(whole.choices[0].message.tool_calls, [{ id: 'toolu_9', type: 'custom', custom: { name: 'apply_patch', input: PATCH } }]);

  const tr2 = createStreamTranslator('anthropic', 'openai', { requestedModel: 'm', clientWantsUsage: false, toolNames: t.toolNames! });
  let out = '';
  for (const c of chunked(anthropicToolStream([{ id: 'toolu_9', name: 'apply_patch', input: { input: PATCH } }]), 7)) out += tr2.push(Buffer.from(c));
  out += tr2.end();
  const calls = parseSse(out).flatMap((e) => e.json?.choices?.[0]?.delta?.tool_calls ?? []);
  assert.deepEqual(calls, [{ index: 0, id: 'toolu_9', type: 'custom', custom: { name: 'apply_patch', input: PATCH } }]);
});

// ---------- through the daemon, with the official SDKs ----------

/** An Anthropic SSE stream whose model calls the given tools (arguments split across deltas). */
function anthropicToolStream(calls: { id: string; name: string; input: unknown }[]): string {
  const ev: Array<[string, unknown]> = [['message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'up', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 12, output_tokens: 1 } } }]];
  calls.forEach((c, i) => {
    const json = JSON.stringify(c.input);
    ev.push(['content_block_start', { type: 'content_block_start', index: i, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } }]);
    for (const part of [json.slice(0, 9), json.slice(9)]) ev.push(['content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: part } }]);
    ev.push(['content_block_stop', { type: 'content_block_stop', index: i }]);
  });
  ev.push(['message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } }], ['message_stop', { type: 'message_stop' }]);
  return sse(ev);
}
function chatToolStream(calls: { id: string; name: string; input: unknown }[]): string {
  const head = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'up' };
  const ev: Array<[null, unknown]> = [[null, { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }] }]];
  calls.forEach((c, i) => {
    const json = JSON.stringify(c.input);
    ev.push([null, { ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: i, id: c.id, type: 'function', function: { name: c.name, arguments: json.slice(0, 5) } }] }, finish_reason: null }] }]);
    ev.push([null, { ...head, choices: [{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: json.slice(5) } }] }, finish_reason: null }] }]);
  });
  ev.push([null, { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] }], [null, { ...head, choices: [], usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 } }], [null, '[DONE]']);
  return sse(ev);
}

interface ToolUpstream {
  url: string;
  seen: { path: string; body: any }[];
  close(): Promise<void>;
}
/**
 * Anthropic (/v1/messages) and Chat (/v1/chat/completions) upstream whose model calls, among the tools it was
 * given, the ones whose names end in spawn_agent and apply_patch. It checks tool names like the real services.
 */
async function startToolUpstream(): Promise<ToolUpstream> {
  const seen: { path: string; body: any }[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw);
      const path = req.url!.split('?')[0]!;
      seen.push({ path, body });
      const chat = path === '/v1/chat/completions';
      const names: string[] = (body.tools ?? []).map((t: any) => (chat ? t.function?.name : t.name)).filter(Boolean);
      const bad = names.find((n) => !(chat ? OPENAI_NAME : ANTHROPIC_NAME).test(n));
      if (bad) {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify(chat ? { error: { message: `invalid tool name ${bad}`, type: 'invalid_request_error' } } : { type: 'error', error: { type: 'invalid_request_error', message: `invalid tool name ${bad}` } }));
        return;
      }
      const calls: { id: string; name: string; input: unknown }[] = [];
      const spawn = names.find((n) => n.endsWith('spawn_agent'));
      const patch = names.find((n) => n.endsWith('apply_patch'));
      if (spawn) calls.push({ id: 'toolu_spawn', name: spawn, input: { task: 'write tests' } });
      if (patch) calls.push({ id: 'toolu_patch', name: patch, input: { input: PATCH } });
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(chat ? chatToolStream(calls) : anthropicToolStream(calls.length ? calls : []));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      if (chat)
        res.end(
          JSON.stringify({
            id: 'chatcmpl-1',
            object: 'chat.completion',
            created: 1,
            model: 'up',
            choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.input) } })) }, finish_reason: calls.length ? 'tool_calls' : 'stop' }],
            usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
          }),
        );
      else
        res.end(
          JSON.stringify({
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model: 'up',
            content: calls.length ? calls.map((c) => ({ type: 'tool_use', ...c })) : [{ type: 'text', text: 'ok' }],
            stop_reason: calls.length ? 'tool_use' : 'end_turn',
            stop_sequence: null,
            usage: { input_tokens: 12, output_tokens: 9 },
          }),
        );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((r) => server.close(() => r())) };
}

describe('tools through the daemon (official SDKs, local upstreams)', () => {
  let up: ToolUpstream;
  let t: TestCore;
  let openai: OpenAI;
  let anthropic: Anthropic;

  before(async () => {
    up = await startToolUpstream();
    t = await startCore(
      `[daemon]
first_byte_timeout_ms = 5000
request_timeout_ms = 10000
strict_tools = false
` +
        provider('anth', up.url, { 'to-anthropic': 'up-claude' }, 'format = "anthropic"') +
        provider('strictchat', up.url, { 'strict-chat': 'up-chat-strict' }, 'format = "openai"\nstrict_tools = true') +
        provider('chat', up.url, { 'to-chat': 'up-chat', 'strict-chat': 'up-chat' }, 'format = "openai"'),
    );
    openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'k', maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: t.url, apiKey: 'k', maxRetries: 0 });
  });
  after(async () => {
    await t.stop();
    await up.close();
  });
  beforeEach(() => {
    up.seen.length = 0;
  });

  const codexRequest = (model: string) => ({ model, input: 'spawn and patch', tools: CODEX_TOOLS as any });

  function checkCodexOutput(output: any[]): void {
    const spawn = output.find((o) => o.type === 'function_call');
    assert.equal(spawn.name, 'spawn_agent');
    assert.equal(spawn.namespace, 'multi_agent_v1');
    assert.equal(spawn.call_id, 'toolu_spawn');
    assert.deepEqual(JSON.parse(spawn.arguments), { task: 'write tests' });
    const patch = output.find((o) => o.type === 'custom_tool_call');
    assert.ok(patch, JSON.stringify(output));
    assert.equal(patch.name, 'apply_patch');
    assert.equal(patch.input, PATCH);
    assert.equal(patch.call_id, 'toolu_patch');
    assert.equal(patch.namespace, undefined);
  }

  for (const [model, path] of [
    ['to-anthropic', '/v1/messages'],
    ['to-chat', '/v1/chat/completions'],
  ] as const) {
    it(`responses client (Codex tools) → ${path}: whole answer carries namespace + name and the custom tool call; x-router67-dropped; log notes`, async () => {
      const { data, response } = await openai.responses.create(codexRequest(model)).withResponse();
      checkCodexOutput(data.output);
      const dropped = response.headers.get('x-router67-dropped');
      assert.equal(dropped, 'web_search, image_generation');
      assert.equal(up.seen.length, 1);
      const sent = up.seen[0]!;
      assert.equal(sent.path, path);
      const names = sent.body.tools.map((x: any) => x.name ?? x.function.name);
      assert.deepEqual(names, ['exec_command', 'multi_agent_v1__spawn_agent', 'multi_agent_v1__wait', 'apply_patch']);
      assert.ok(!JSON.stringify(sent.body).includes('namespace'));
      await eventually(() => {
        const e = t.core.log.recent(1)[0]!;
        assert.equal(e.state, 'done');
        assert.ok(e.translationNotes?.some((n) => n.startsWith('flattened namespace multi_agent_v1')), JSON.stringify(e.translationNotes));
        assert.ok(e.translationNotes?.some((n) => n.startsWith('dropped tool image_generation')));
      });
    });

    it(`responses client (Codex tools) → ${path}, streamed: output items and events carry namespace; custom input arrives whole`, async () => {
      const stream = openai.responses.stream(codexRequest(model));
      const types: string[] = [];
      const added: any[] = [];
      let customDelta = '';
      stream.on('event', (e: any) => {
        types.push(e.type);
        if (e.type === 'response.output_item.added') added.push(e.item);
        if (e.type === 'response.custom_tool_call_input.delta') customDelta += e.delta;
      });
      const final = await stream.finalResponse();
      checkCodexOutput(final.output);
      assert.equal(customDelta, PATCH);
      assert.ok(types.includes('response.custom_tool_call_input.done'));
      assert.equal(added.find((i) => i.type === 'function_call')?.namespace, 'multi_agent_v1');
      assert.equal(added.find((i) => i.type === 'custom_tool_call')?.name, 'apply_patch');
      assert.equal(up.seen[0]!.body.stream, true);
      // the streamed answer carries the header as well
      const { data: raw, response } = await openai.responses.create({ ...codexRequest(model), stream: true }).withResponse();
      for await (const _ of raw) void _;
      assert.equal(response.headers.get('x-router67-dropped'), 'web_search, image_generation');
      assert.equal(response.headers.get('x-router67-translated'), `responses->${path === '/v1/messages' ? 'anthropic' : 'openai'}`);
    });
  }

  it('a later turn: the namespaced call and the custom call with their outputs go up as flattened tool_use / tool_result', async () => {
    const r = await openai.responses.create({
      model: 'to-anthropic',
      tools: CODEX_TOOLS.slice(0, 3) as any,
      input: [
        { type: 'message', role: 'user', content: 'go' },
        { type: 'function_call', call_id: 'toolu_spawn', namespace: 'multi_agent_v1', name: 'spawn_agent', arguments: '{"task":"t"}' } as any,
        { type: 'custom_tool_call', call_id: 'toolu_patch', name: 'apply_patch', input: PATCH },
        { type: 'function_call_output', call_id: 'toolu_spawn', output: 'spawned' },
        { type: 'custom_tool_call_output', call_id: 'toolu_patch', output: 'Done!' },
      ],
    });
    assert.equal(r.status, 'completed');
    const m = up.seen[0]!.body.messages;
    assert.deepEqual(
      m[1].content.map((c: any) => [c.name, c.input]),
      [
        ['multi_agent_v1__spawn_agent', { task: 't' }],
        ['apply_patch', { input: PATCH }],
      ],
    );
    assert.deepEqual(
      m[2].content.map((c: any) => c.tool_use_id),
      ['toolu_spawn', 'toolu_patch'],
    );
  });

  it('strict_tools: a provider with strict_tools = true refuses what it would drop; the next provider (not strict) serves it', async () => {
    const { data, response } = await openai.responses.create({ model: 'strict-chat', input: 'hi', tools: CODEX_TOOLS as any }).withResponse();
    checkCodexOutput(data.output);
    assert.equal(response.headers.get('x-router67-provider'), 'chat');
    await eventually(() => {
      const e = t.core.log.recent(1)[0]!;
      assert.equal(e.state, 'done');
      assert.deepEqual(
        e.attempts.map((a) => a.provider),
        ['strictchat', 'chat'],
      );
      assert.match(e.attempts[0]!.error ?? '', /^skipped: .*cannot express tool web_search .*strict_tools is on/);
      assert.equal(e.translationNotes?.length ? true : false, true);
    });
  });

  it('anthropic client (Claude Code shapes: server tools, defer_loading, tool_reference) → chat upstream', async () => {
    const { data, response } = await anthropic.messages
      .create({
        ...(CLAUDE_CODE as any),
        model: 'to-chat',
        tools: [...CLAUDE_CODE.tools, { name: 'mcp__x__spawn_agent', description: 'spawn', input_schema: { type: 'object', properties: {} }, defer_loading: true }],
      })
      .withResponse();
    assert.equal(data.stop_reason, 'tool_use');
    const call = data.content.find((c) => c.type === 'tool_use') as any;
    assert.equal(call.name, 'mcp__x__spawn_agent');
    assert.deepEqual(call.input, { task: 'write tests' });
    assert.equal(response.headers.get('x-router67-dropped'), 'mcp_servers, container, web_search_20250305, web_fetch_20250910, code_execution_20250825, tool_search_tool_regex_20251119');
    const sent = up.seen[0]!.body;
    const text = JSON.stringify(sent);
    for (const gone of ['defer_loading', 'tool_reference', 'server_tool_use', 'web_search_tool_result', 'mcp_servers', 'web_fetch']) assert.ok(!text.includes(gone), gone);
    assert.deepEqual(
      sent.tools.map((x: any) => x.function.name),
      ['Bash', 'mcp__github__create_issue', 'ToolSearch', 'mcp__x__spawn_agent'],
    );

    // streamed, as Claude Code asks
    const final = await anthropic.messages
      .stream({ ...(CLAUDE_CODE as any), model: 'to-chat', tools: [...CLAUDE_CODE.tools, { name: 'mcp__x__spawn_agent', input_schema: { type: 'object', properties: {} }, defer_loading: true }] })
      .finalMessage();
    assert.equal(final.stop_reason, 'tool_use');
    assert.deepEqual(
      final.content.map((c: any) => [c.type, c.name, c.input]),
      [['tool_use', 'mcp__x__spawn_agent', { task: 'write tests' }]],
    );
  });

  it('chat client with a free-form tool → Anthropic upstream: the call comes back as a custom tool call', async () => {
    const r = await openai.chat.completions.create({
      model: 'to-anthropic',
      messages: [{ role: 'user', content: 'patch it' }],
      tools: [{ type: 'custom', custom: { name: 'apply_patch', description: 'Edit files' } }],
    });
    assert.deepEqual(r.choices[0]!.message.tool_calls, [{ id: 'toolu_patch', type: 'custom', custom: { name: 'apply_patch', input: PATCH } }]);
    assert.equal(r.choices[0]!.finish_reason, 'tool_calls');
    assert.deepEqual(up.seen[0]!.body.tools[0].input_schema.required, ['input']);
  });
});

test('strict_tools in [daemon]: a request that would lose tools is refused by every provider, with the reason', async () => {
  const up = await startToolUpstream();
  const t = await startCore(`[daemon]\nstrict_tools = true\n` + provider('anth', up.url, { m: 'up-claude' }, 'format = "anthropic"'));
  try {
    const openai = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: 'k', maxRetries: 0 });
    await assert.rejects(openai.responses.create({ model: 'm', input: 'hi', tools: CODEX_TOOLS as any }), (e: any) => {
      assert.ok(e.status >= 400 && e.status < 600, String(e.status));
      assert.match(String(e.message), /strict_tools is on/);
      return true;
    });
    assert.equal(up.seen.length, 0);
    // without the tools it cannot express, the same route works
    const ok = await openai.responses.create({ model: 'm', input: 'hi', tools: CODEX_TOOLS.slice(0, 3) as any });
    assert.equal(ok.status, 'completed');
  } finally {
    await t.stop();
    await up.close();
  }
});

test('responses upstream: custom tool calls from a Responses upstream reach a Chat client as custom calls (stream decode)', () => {
  const item = { id: 'ctc_1', type: 'custom_tool_call', call_id: 'c1', name: 'apply_patch', input: '' };
  const events = sse([
    ['response.created', { type: 'response.created', response: { id: 'resp_1', model: 'up', output: [] } }],
    ['response.output_item.added', { type: 'response.output_item.added', output_index: 0, item }],
    ['response.custom_tool_call_input.delta', { type: 'response.custom_tool_call_input.delta', output_index: 0, item_id: 'ctc_1', delta: PATCH.slice(0, 10) }],
    ['response.custom_tool_call_input.delta', { type: 'response.custom_tool_call_input.delta', output_index: 0, item_id: 'ctc_1', delta: PATCH.slice(10) }],
    ['response.output_item.done', { type: 'response.output_item.done', output_index: 0, item: { ...item, input: PATCH } }],
    ['response.completed', { type: 'response.completed', response: { id: 'resp_1', status: 'completed', output: [], usage: { input_tokens: 1, output_tokens: 2 } } }],
  ]);
  const out = translateStream('responses', 'openai', chunked(events, 11), { clientWantsUsage: false });
  const calls = parseSse(out.text).flatMap((e) => e.json?.choices?.[0]?.delta?.tool_calls ?? []);
  assert.deepEqual(calls, [{ index: 0, id: 'c1', type: 'custom', custom: { name: 'apply_patch', input: PATCH } }]);
});

test('anthropic upstream web search → responses client: a web_search_call item (whole and streamed, parsed by the SDK)', async () => {
  const srv = { type: 'server_tool_use', id: 'srvtoolu_01', name: 'web_search', input: {} };
  const result = { type: 'web_search_tool_result', tool_use_id: 'srvtoolu_01', content: [{ type: 'web_search_result', url: 'https://example.com', title: 'Ex', encrypted_content: 'E' }] };
  const events = sse([
    ['message_start', { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'up', content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 5, output_tokens: 1 } } }],
    ['content_block_start', { type: 'content_block_start', index: 0, content_block: srv }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '{"query": "router' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: '67"}' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 0 }],
    ['content_block_start', { type: 'content_block_start', index: 1, content_block: result }],
    ['content_block_stop', { type: 'content_block_stop', index: 1 }],
    ['content_block_start', { type: 'content_block_start', index: 2, content_block: { type: 'text', text: '' } }],
    ['content_block_delta', { type: 'content_block_delta', index: 2, delta: { type: 'text_delta', text: 'Found it.' } }],
    ['content_block_stop', { type: 'content_block_stop', index: 2 }],
    ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } }],
    ['message_stop', { type: 'message_stop' }],
  ]);
  const out = translateStream('anthropic', 'responses', chunked(events, 13));
  const { openaiClient } = await import('./sdk.js');
  const final = await openaiClient(out.text).responses.stream({ model: 'client-model', input: 'hi' }).finalResponse();
  assert.deepEqual(
    final.output.map((o: any) => o.type),
    ['web_search_call', 'message'],
  );
  assert.deepEqual((final.output[0] as any).action, { type: 'search', query: 'router67', queries: ['router67'] });
  assert.equal(final.output_text, 'Found it.');

  const whole = translateResponse(
    'anthropic',
    'responses',
    { id: 'msg_1', type: 'message', role: 'assistant', model: 'up', content: [{ ...srv, input: { query: 'q' } }, result, { type: 'text', text: 'ok' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } },
    { requestedModel: 'm' },
  ) as any;
  assert.deepEqual(
    whole.output.map((o: any) => [o.type, o.action?.query]),
    [
      ['web_search_call', 'q'],
      ['message', undefined],
    ],
  );
});
