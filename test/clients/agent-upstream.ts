// A scripted "model" behind router67 for the real-client tests: one local server speaking all four provider
// formats on their own paths (Anthropic /v1/messages, OpenAI Chat /v1/chat/completions, Responses /v1/responses,
// Ollama /api/chat), written from the public wire formats. For each client run it plays two turns:
//   1. the client offered the scripted tool: reasoning (signed/encrypted where the format has that) + one call;
//   2. the conversation carries that call's result: a final text answer.
// It validates every request the way the real services do (a thinking block needs its own signature back,
// encrypted reasoning must be one it issued, a tool result needs its call, DeepSeek-style thinking mode needs
// `reasoning_content` back, Ollama wants arguments as objects, item_reference only for stored items) and
// answers 400 in its own dialect otherwise. Every request is recorded (gzip bodies unpacked) for the tests'
// own turn-2 checks.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

import { errorBody, fmtOf, type Fmt } from '../conformance/upstream.js';

export type { Fmt };

export interface Script {
  /** Name of the tool to call; must be among the tools the request offers. */
  tool: string;
  /** Arguments of the call. */
  args: Record<string, unknown>;
  /** The final answer's text (turn 2). */
  answer: string;
}

export type Phase = 'call' | 'answer' | 'other' | 'rejected';

export interface Turn {
  fmt: Fmt;
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
  phase: Phase;
  /** For 'rejected': why. */
  error?: string;
  /** For 'call': what this turn issued. */
  issued?: Issued;
  stream: boolean;
}

export interface Issued {
  callId: string;
  /** Responses: the function_call item's id. */
  itemId?: string;
  reasoningId?: string;
  thinking?: string;
  /** Anthropic signature / Responses encrypted_content, when issued. */
  signature?: string;
}

export interface AgentUpstream {
  url: string;
  turns: Turn[];
  script: Script | undefined;
  /** Responses items stored (requests without `store: false`), by id, as item_reference would find them. */
  stored: Map<string, any>;
  close(): Promise<void>;
}

export const THINKING = 'The user wants the command run; call the tool, then report.';

const tok = (n = 24) => randomBytes(n).toString('base64'); // has + / = in it: byte-identity matters

interface State {
  signatures: Set<string>; // anthropic thinking signatures issued
  encrypted: Set<string>; // responses encrypted_content issued
  stored: Map<string, any>; // responses items stored (store !== false)
  calls: Map<string, Issued>; // by call id
  n: number;
}

/** Tool names the request offers, whatever the format (Responses namespaces included, as "ns.name"). */
export function offeredTools(f: Fmt, b: any): string[] {
  const out: string[] = [];
  for (const t of b.tools ?? []) {
    if (f === 'anthropic') out.push(t.name);
    else if (f === 'responses') {
      if (t.type === 'function' || t.type === 'custom') out.push(t.name);
      if (t.type === 'namespace') for (const x of t.tools ?? []) out.push(`${t.name}.${x.name}`, x.name);
    } else out.push(t.function?.name ?? t.name);
  }
  return out;
}

/** The call this conversation answers (turn 2), with the tool result text; undefined on turn 1. */
function answered(f: Fmt, b: any, st: State): { issued: Issued; result: string } | undefined {
  const text = (c: any): string => (typeof c === 'string' ? c : Array.isArray(c) ? c.map((x) => (typeof x === 'string' ? x : (x.text ?? x.output ?? ''))).join('') : JSON.stringify(c ?? ''));
  let hit: { issued: Issued; result: string } | undefined;
  if (f === 'anthropic') {
    for (const m of b.messages ?? []) if (Array.isArray(m.content)) for (const c of m.content) if (c.type === 'tool_result' && st.calls.has(c.tool_use_id)) hit = { issued: st.calls.get(c.tool_use_id)!, result: text(c.content) };
  } else if (f === 'openai') {
    for (const m of b.messages ?? []) if (m.role === 'tool' && st.calls.has(m.tool_call_id)) hit = { issued: st.calls.get(m.tool_call_id)!, result: text(m.content) };
  } else if (f === 'responses') {
    for (const it of Array.isArray(b.input) ? b.input : []) if ((it.type === 'function_call_output' || it.type === 'custom_tool_call_output') && st.calls.has(it.call_id)) hit = { issued: st.calls.get(it.call_id)!, result: text(it.output) };
  } else {
    // Ollama tool messages carry no call id: the newest issued call is the one answered.
    const msgs = b.messages ?? [];
    const tool = [...msgs].reverse().find((m: any) => m.role === 'tool');
    const asst = [...msgs].reverse().find((m: any) => m.role === 'assistant' && m.tool_calls?.length);
    if (tool && asst) {
      const last = [...st.calls.values()].filter((c) => c.callId.startsWith('ollama_')).at(-1);
      if (last) hit = { issued: last, result: text(tool.content) };
    }
  }
  return hit;
}

/** Returns why the real service would reject the request, or undefined. */
function validate(f: Fmt, b: any, st: State): string | undefined {
  if (!b || typeof b !== 'object') return 'body is not a JSON object';
  if (typeof b.model !== 'string' || !b.model.startsWith('up-')) return `unexpected model ${JSON.stringify(b.model)}`;
  const text = JSON.stringify(b);
  if (f !== 'anthropic' && text.includes('"cache_control"')) return 'Unrecognized request argument supplied: cache_control';
  switch (f) {
    case 'anthropic': {
      if (typeof b.max_tokens !== 'number') return 'max_tokens: Field required';
      if (!Array.isArray(b.messages) || !b.messages.length) return 'messages: at least one message is required';
      const toolIds = new Set<string>();
      let lastAssistant: any[] | undefined;
      for (const [i, m] of b.messages.entries()) {
        if (m.role !== 'user' && m.role !== 'assistant' && m.role !== 'system') return `messages.${i}.role: unexpected role ${m.role}`;
        const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
        if (!Array.isArray(blocks) || !blocks.length) return `messages.${i}: content must be non-empty`;
        for (const c of blocks) {
          if (c.type === 'text' && !c.text && m.role !== 'system') return `messages.${i}: text content blocks must be non-empty`;
          if (c.type === 'tool_use') {
            if (!/^[a-zA-Z0-9_-]+$/.test(c.id)) return `messages.${i}: tool_use.id: String should match pattern '^[a-zA-Z0-9_-]+$'`;
            if (typeof c.input !== 'object' || c.input === null || Array.isArray(c.input)) return `messages.${i}: tool_use.input: Input should be a valid dictionary`;
            toolIds.add(c.id);
          }
          if (c.type === 'tool_result' && !toolIds.has(c.tool_use_id)) return `messages.${i}: unexpected tool_use_id found in tool_result blocks: ${c.tool_use_id}`;
          if (c.type === 'thinking' && !st.signatures.has(c.signature)) return `messages.${i}: Invalid \`signature\` in \`thinking\` block`;
        }
        if (m.role === 'assistant') lastAssistant = blocks;
      }
      if (toolIds.size && !Array.isArray(b.tools)) return 'Requests which include `tool_use` or `tool_result` blocks must define tools.';
      const thinkingOn = b.thinking?.type === 'enabled' || b.thinking?.type === 'adaptive';
      if (b.thinking?.type === 'enabled' && (typeof b.thinking.budget_tokens !== 'number' || b.thinking.budget_tokens < 1024)) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
      if (thinkingOn && lastAssistant?.some((c: any) => c.type === 'tool_use') && lastAssistant[0].type !== 'thinking' && lastAssistant[0].type !== 'redacted_thinking')
        return 'messages: Expected `thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is enabled, a final `assistant` message must start with a thinking block.';
      return undefined;
    }
    case 'openai': {
      if (!Array.isArray(b.messages) || !b.messages.length) return "'messages' must be a non-empty array";
      const open = new Set<string>();
      for (const [i, m] of b.messages.entries()) {
        if (!['system', 'developer', 'user', 'assistant', 'tool'].includes(m.role)) return `messages[${i}].role: invalid role ${m.role}`;
        if (m.role === 'tool') {
          if (!open.has(m.tool_call_id)) return `Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls' (${m.tool_call_id})`;
          open.delete(m.tool_call_id);
          if (typeof m.content !== 'string' && !Array.isArray(m.content)) return `messages[${i}].content: tool content must be a string`;
          continue;
        }
        if (open.size) return `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. Missing: ${[...open].join(',')}`;
        if (m.role === 'assistant') {
          for (const t of m.tool_calls ?? []) {
            if (t.type !== 'function' || typeof t.function?.arguments !== 'string' || !t.function.name) return `messages[${i}].tool_calls: invalid entry`;
            try {
              JSON.parse(t.function.arguments);
            } catch {
              return `messages[${i}].tool_calls: arguments are not JSON`;
            }
            open.add(t.id);
          }
          // DeepSeek thinking mode: a tool-call turn must come back with its reasoning_content.
          if (m.tool_calls?.length && typeof m.reasoning_content !== 'string')
            return 'Missing `reasoning_content` field in the assistant message at message index ' + i + ' (thinking mode with tool calls)';
        }
      }
      return undefined;
    }
    case 'responses': {
      if ('stop' in b) return "Unsupported parameter: 'stop'";
      if (typeof b.input !== 'string' && !Array.isArray(b.input)) return 'input must be a string or an array';
      const calls = new Set<string>();
      for (const raw of Array.isArray(b.input) ? b.input : []) {
        let it = raw;
        if (it.type === 'item_reference') {
          it = st.stored.get(it.id);
          if (!it) return `Item with id '${raw.id}' not found.`;
        }
        if (it.type === 'function_call' || it.type === 'custom_tool_call') calls.add(it.call_id);
        if ((it.type === 'function_call_output' || it.type === 'custom_tool_call_output') && !calls.has(it.call_id)) return `No tool call found for function call output with call_id ${it.call_id}.`;
        if (it.type === 'reasoning') {
          if (typeof it.encrypted_content === 'string') {
            if (!st.encrypted.has(it.encrypted_content)) return `The encrypted content for item ${it.id ?? 'rs'} could not be verified.`;
          } else if (!st.stored.has(it.id)) return `Item with id '${it.id}' not found. Items are not persisted when \`store\` is set to false.`;
        }
      }
      return undefined;
    }
    case 'ollama': {
      if (!Array.isArray(b.messages)) return 'messages required';
      for (const m of b.messages) {
        for (const t of m.tool_calls ?? []) if (typeof t.function?.arguments !== 'object') return 'json: cannot unmarshal string into Go struct field .messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments';
      }
      return undefined;
    }
  }
}

// ---- answers -----------------------------------------------------------------------------------------

interface Plan {
  thinking?: string; // reasoning text (may be '' when the client asked for it omitted)
  signature?: string; // anthropic signature / responses encrypted_content
  reasoningId?: string;
  text?: string;
  call?: { id: string; itemId?: string; name: string; args: Record<string, unknown> };
}

function sse(event: string | undefined, data: unknown): string {
  return `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;
}

function anthropicOut(p: Plan, model: string, stream: boolean): string {
  const content: any[] = [];
  if (p.thinking !== undefined) content.push({ type: 'thinking', thinking: p.thinking, signature: p.signature });
  if (p.text) content.push({ type: 'text', text: p.text });
  if (p.call) content.push({ type: 'tool_use', id: p.call.id, name: p.call.name, input: p.call.args });
  const stop = p.call ? 'tool_use' : 'end_turn';
  const id = `msg_${tok(9).replace(/[^a-zA-Z0-9]/g, '')}`;
  if (!stream) return JSON.stringify({ id, type: 'message', role: 'assistant', model, content, stop_reason: stop, stop_sequence: null, usage: { input_tokens: 120, output_tokens: 30 } });
  let s = sse('message_start', { type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 120, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 } } });
  content.forEach((c, i) => {
    if (c.type === 'thinking') {
      s += sse('content_block_start', { type: 'content_block_start', index: i, content_block: { type: 'thinking', thinking: '', signature: '' } });
      if (c.thinking) s += sse('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'thinking_delta', thinking: c.thinking } });
      s += sse('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'signature_delta', signature: c.signature } });
    } else if (c.type === 'text') {
      s += sse('content_block_start', { type: 'content_block_start', index: i, content_block: { type: 'text', text: '' } });
      s += sse('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'text_delta', text: c.text } });
    } else {
      s += sse('content_block_start', { type: 'content_block_start', index: i, content_block: { type: 'tool_use', id: c.id, name: c.name, input: {} } });
      const j = JSON.stringify(c.input);
      s += sse('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: j.slice(0, 7) } });
      s += sse('content_block_delta', { type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: j.slice(7) } });
    }
    s += sse('content_block_stop', { type: 'content_block_stop', index: i });
  });
  s += sse('message_delta', { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 30 } });
  return s + sse('message_stop', { type: 'message_stop' });
}

function openaiOut(p: Plan, model: string, stream: boolean, includeUsage: boolean): string {
  const created = Math.floor(Date.now() / 1000);
  const id = 'chatcmpl-r67';
  const usage = { prompt_tokens: 120, completion_tokens: 30, total_tokens: 150 };
  const tc = p.call ? [{ id: p.call.id, type: 'function', function: { name: p.call.name, arguments: JSON.stringify(p.call.args) } }] : undefined;
  const finish = p.call ? 'tool_calls' : 'stop';
  if (!stream)
    return JSON.stringify({ id, object: 'chat.completion', created, model, choices: [{ index: 0, message: { role: 'assistant', content: p.text ?? null, reasoning_content: p.thinking, ...(tc ? { tool_calls: tc } : {}) }, finish_reason: finish }], usage });
  const chunk = (delta: unknown, fr: string | null = null) => sse(undefined, { id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: fr }] });
  let s = chunk({ role: 'assistant', content: null, reasoning_content: '' });
  if (p.thinking) s += chunk({ reasoning_content: p.thinking });
  if (p.text) s += chunk({ content: p.text });
  if (tc) {
    const a = tc[0]!.function.arguments;
    s += chunk({ tool_calls: [{ index: 0, id: tc[0]!.id, type: 'function', function: { name: tc[0]!.function.name, arguments: '' } }] });
    s += chunk({ tool_calls: [{ index: 0, function: { arguments: a.slice(0, 5) } }] });
    s += chunk({ tool_calls: [{ index: 0, function: { arguments: a.slice(5) } }] });
  }
  s += chunk({}, finish);
  if (includeUsage) s += sse(undefined, { id, object: 'chat.completion.chunk', created, model, choices: [], usage });
  return s + sse(undefined, '[DONE]');
}

function responsesItems(p: Plan): any[] {
  const out: any[] = [];
  if (p.thinking !== undefined) out.push({ id: p.reasoningId, type: 'reasoning', summary: p.thinking ? [{ type: 'summary_text', text: p.thinking }] : [], ...(p.signature ? { encrypted_content: p.signature } : {}) });
  if (p.text) out.push({ id: `msg_${tok(6).replace(/[^a-zA-Z0-9]/g, '')}`, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: p.text, annotations: [], logprobs: [] }] });
  if (p.call) out.push({ id: p.call.itemId, type: 'function_call', status: 'completed', call_id: p.call.id, name: p.call.name, arguments: JSON.stringify(p.call.args) });
  return out;
}

function responsesOut(p: Plan, model: string, stream: boolean, output: any[]): string {
  const id = `resp_${tok(9).replace(/[^a-zA-Z0-9]/g, '')}`;
  const created_at = Math.floor(Date.now() / 1000);
  const usage = { input_tokens: 120, input_tokens_details: { cached_tokens: 0 }, output_tokens: 30, output_tokens_details: { reasoning_tokens: 10 }, total_tokens: 150 };
  const resp = (status: string, out: unknown[], u: unknown) => ({ id, object: 'response', created_at, status, model, output: out, usage: u, error: null, incomplete_details: null });
  if (!stream) return JSON.stringify(resp('completed', output, usage));
  let seq = 0;
  const e = (type: string, body: Record<string, unknown>) => sse(type, { type, ...body, sequence_number: seq++ });
  let s = e('response.created', { response: resp('in_progress', [], null) }) + e('response.in_progress', { response: resp('in_progress', [], null) });
  output.forEach((it, i) => {
    if (it.type === 'reasoning') {
      s += e('response.output_item.added', { output_index: i, item: { id: it.id, type: 'reasoning', summary: [] } });
      if (it.summary.length) {
        s += e('response.reasoning_summary_part.added', { item_id: it.id, output_index: i, summary_index: 0, part: { type: 'summary_text', text: '' } });
        s += e('response.reasoning_summary_text.delta', { item_id: it.id, output_index: i, summary_index: 0, delta: it.summary[0].text });
        s += e('response.reasoning_summary_text.done', { item_id: it.id, output_index: i, summary_index: 0, text: it.summary[0].text });
        s += e('response.reasoning_summary_part.done', { item_id: it.id, output_index: i, summary_index: 0, part: it.summary[0] });
      }
    } else if (it.type === 'message') {
      s += e('response.output_item.added', { output_index: i, item: { ...it, status: 'in_progress', content: [] } });
      s += e('response.content_part.added', { item_id: it.id, output_index: i, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
      s += e('response.output_text.delta', { item_id: it.id, output_index: i, content_index: 0, delta: it.content[0].text, logprobs: [] });
      s += e('response.output_text.done', { item_id: it.id, output_index: i, content_index: 0, text: it.content[0].text, logprobs: [] });
      s += e('response.content_part.done', { item_id: it.id, output_index: i, content_index: 0, part: it.content[0] });
    } else {
      s += e('response.output_item.added', { output_index: i, item: { ...it, status: 'in_progress', arguments: '' } });
      s += e('response.function_call_arguments.delta', { item_id: it.id, output_index: i, delta: it.arguments });
      s += e('response.function_call_arguments.done', { item_id: it.id, output_index: i, name: it.name, arguments: it.arguments });
    }
    s += e('response.output_item.done', { output_index: i, item: it });
  });
  return s + e('response.completed', { response: resp('completed', output, usage) });
}

function ollamaOut(p: Plan, model: string, stream: boolean): string {
  const created_at = new Date().toISOString();
  const tc = p.call ? [{ function: { name: p.call.name, arguments: p.call.args } }] : undefined;
  const final = { done: true, done_reason: 'stop', total_duration: 1000, prompt_eval_count: 120, eval_count: 30 };
  if (!stream) return JSON.stringify({ model, created_at, message: { role: 'assistant', content: p.text ?? '', ...(p.thinking ? { thinking: p.thinking } : {}), ...(tc ? { tool_calls: tc } : {}) }, ...final }) + '\n';
  const line = (message: Record<string, unknown>, extra: Record<string, unknown> = { done: false }) => JSON.stringify({ model, created_at, message: { role: 'assistant', content: '', ...message }, ...extra }) + '\n';
  let s = '';
  if (p.thinking) s += line({ thinking: p.thinking });
  if (p.text) s += line({ content: p.text });
  if (tc) s += line({ tool_calls: tc });
  return s + line({}, final);
}

export async function startAgentUpstream(): Promise<AgentUpstream> {
  const st: State = { signatures: new Set(), encrypted: new Set(), stored: new Map(), calls: new Map(), n: 0 };
  const turns: Turn[] = [];
  const u: AgentUpstream = { url: '', turns, script: undefined, stored: st.stored, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const f = fmtOf(path);
      const send = (status: number, type: string, body: string) => {
        res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
        res.end(body);
      };
      if (!f) return send(404, 'application/json', JSON.stringify({ error: { message: `agent upstream: nothing at ${req.method} ${path}` } }));
      let raw = Buffer.concat(chunks);
      const enc = String(req.headers['content-encoding'] ?? '').toLowerCase();
      try {
        if (enc === 'gzip') raw = gunzipSync(raw);
        else if (enc && enc !== 'identity') throw new Error(`unsupported content-encoding ${enc}`);
      } catch (e) {
        return send(400, 'application/json', errorBody(f, `body not ${enc}: ${(e as Error).message}`));
      }
      let body: any;
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
      const stream = f === 'ollama' ? body?.stream !== false : body?.stream === true;
      const turn: Turn = { fmt: f, path, headers: req.headers, body, phase: 'other', stream };
      turns.push(turn);
      const invalid = validate(f, body, st);
      if (invalid) {
        turn.phase = 'rejected';
        turn.error = invalid;
        return send(400, 'application/json', errorBody(f, invalid));
      }
      const script = u.script;
      const model = String(body.model);
      const hit = answered(f, body, st);
      const plan: Plan = {};
      // reasoning, as each service emits it
      const wantsReasoning =
        f === 'anthropic' ? body.thinking?.type === 'enabled' || body.thinking?.type === 'adaptive' : f === 'ollama' ? body.think !== false : true; // DeepSeek reasoner / OpenAI reasoning models always reason
      const n = ++st.n;
      if (wantsReasoning) {
        plan.thinking = f === 'anthropic' && body.thinking?.display === 'omitted' ? '' : THINKING;
        if (f === 'anthropic') {
          plan.signature = `Er${tok(30)}`;
          st.signatures.add(plan.signature);
        }
        if (f === 'responses') {
          plan.reasoningId = `rs_r67_${n}`;
          if (Array.isArray(body.include) && body.include.includes('reasoning.encrypted_content')) {
            plan.signature = `gAAAAAB${tok(30)}`;
            st.encrypted.add(plan.signature);
          }
        }
      }
      if (hit) {
        turn.phase = 'answer';
        plan.text = script?.answer ?? 'done';
      } else if (script && offeredTools(f, body).includes(script.tool)) {
        turn.phase = 'call';
        const name = script.tool.includes('.') ? script.tool.split('.').pop()! : script.tool;
        const callId = f === 'anthropic' ? `toolu_r67_${n}` : f === 'ollama' ? `ollama_${n}` : `call_r67_${n}`;
        plan.call = { id: callId, itemId: f === 'responses' ? `fc_r67_${n}` : undefined, name, args: script.args };
        const issued: Issued = { callId, itemId: plan.call.itemId, reasoningId: plan.reasoningId, thinking: plan.thinking, signature: plan.signature };
        st.calls.set(callId, issued);
        turn.issued = issued;
      } else {
        plan.text = 'ok'; // a background request (titles, summaries) or a request without the scripted tool
      }
      let out: string;
      let type = stream ? 'text/event-stream' : 'application/json';
      if (f === 'anthropic') out = anthropicOut(plan, model, stream);
      else if (f === 'openai') out = openaiOut(plan, model, stream, body.stream_options?.include_usage === true);
      else if (f === 'responses') {
        const items = responsesItems(plan);
        if (body.store !== false) for (const it of items) st.stored.set(it.id, it);
        out = responsesOut(plan, model, stream, items);
      } else {
        out = ollamaOut(plan, model, stream);
        type = stream ? 'application/x-ndjson' : 'application/json';
      }
      send(200, type, out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  u.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  u.close = () =>
    new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return u;
}
