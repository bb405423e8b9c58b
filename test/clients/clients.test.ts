// Real clients through router67's plain endpoint, to local upstreams of every format. Each client makes a real
// tool call and answers in a second turn: the Codex CLI (`codex exec`, default features), Claude Code
// (`claude -p`), the Vercel AI SDK (`@ai-sdk/openai` with its default Responses provider and `store`,
// `@ai-sdk/anthropic` with thinking) and LangChain JS (`ChatOpenAI` on the Responses API, `ChatAnthropic` with
// thinking). The upstream (agent-upstream.ts) scripts the call and checks requests as the real services do;
// checks.ts then reads turn 2 as the upstream received it: tool result present, reasoning signature
// byte-identical, thinking present.
//
// The clients live in test/clients/node_modules (their own package.json; `.ci/run` installs them). Without
// them these tests skip with the reason; under CI (CI=true, as CI sets, or ROUTER67_REQUIRE_CLIENTS=1) they fail.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCore, provider, type TestCore } from '../helpers/core.js';
import { startAgentUpstream, type AgentUpstream, type Fmt, type Turn } from './agent-upstream.js';
import { checkTwoTurns, describeTurns } from './checks.js';
import { CLAUDE_BIN, CODEX_BIN, clientsMissing, clientVersion, loadLibs, runClient, skipUnlessInstalled, tail } from './harness.js';

const FORMATS: Fmt[] = ['anthropic', 'openai', 'responses', 'ollama'];
/** The model names the clients use by default (or are told to), all routed to the one provider of each core. */
const MODELS = ['claude-opus-5-5', 'claude-sonnet-4-6', 'claude-haiku-4-5', 'gpt-5.5'];
const CLI_TIMEOUT_MS = 120_000;

const skip = skipUnlessInstalled();
let up: AgentUpstream;
const cores = new Map<Fmt, TestCore>();
let work: string;
let libs: any;

before(async () => {
  if (skip) return;
  const missing = clientsMissing();
  if (missing) throw new Error(`client tests required under CI: ${missing}`);
  work = mkdtempSync(join(tmpdir(), 'r67-clients-'));
  up = await startAgentUpstream();
  for (const f of FORMATS) {
    const models = Object.fromEntries(MODELS.map((m) => [m, `up-${f}`]));
    cores.set(f, await startCore(provider(`up-${f}`, f === 'openai' ? `${up.url}/v1` : up.url, models, `format = "${f}"`)));
  }
  libs = await loadLibs();
  process.stdout.write(
    `# clients: Claude Code ${clientVersion('@anthropic-ai/claude-code')}, Codex ${clientVersion('@openai/codex')}, ai ${clientVersion('ai')}, @ai-sdk/openai ${clientVersion('@ai-sdk/openai')}, @ai-sdk/anthropic ${clientVersion('@ai-sdk/anthropic')}, @langchain/openai ${clientVersion('@langchain/openai')}, @langchain/anthropic ${clientVersion('@langchain/anthropic')}, @langchain/core ${clientVersion('@langchain/core')}\n`,
  );
});

after(async () => {
  for (const c of cores.values()) await c.stop();
  await up?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A command whose output the model cannot guess from the call itself: the tool result must really be the output. */
function marker(): { command: string; output: string } {
  const r = randomBytes(4).toString('hex');
  return { command: `echo r67-$((6*7))-${r}`, output: `r67-42-${r}` };
}

/** What router67 logged for the run (attempt errors), for failure messages. */
function routerSays(core: TestCore, since: number): string {
  const lines = core.core.log
    .recent(100)
    .filter((e) => Date.parse(e.startedAt) >= since)
    .reverse()
    .map((e) => `${e.method} ${e.path} ${e.model ?? ''} → ${e.status ?? '-'}${e.error ? ` (${e.error})` : ''}${e.attempts.map((a) => (a.error ? ` [${a.provider}: ${a.error}]` : '')).join('')}`);
  const counted: [string, number][] = [];
  for (const l of lines) {
    const last = counted.at(-1);
    if (last?.[0] === l) last[1]++;
    else counted.push([l, 1]);
  }
  return counted.map(([l, n]) => (n > 1 ? `${l} (×${n})` : l)).join('\n');
}

interface Run {
  ok: boolean;
  answer?: string;
  detail: string;
}

async function drive(f: Fmt, client: (core: TestCore, answer: string, m: { command: string; output: string }) => Promise<Run>, script: (m: { command: string; output: string }) => { tool: string; args: Record<string, unknown> }): Promise<void> {
  const core = cores.get(f)!;
  const m = marker();
  const answer = `R67 final answer ${randomBytes(3).toString('hex')}`;
  up.script = { ...script(m), answer };
  const from = up.turns.length;
  const since = Date.now() - 1;
  let run: Run;
  try {
    run = await client(core, answer, m);
  } finally {
    up.script = undefined;
  }
  const turns: Turn[] = up.turns.slice(from);
  const context = `\nupstream saw: ${describeTurns(turns) || 'nothing'}\nrouter67 log:\n${routerSays(core, since)}\nclient: ${run.detail}`;
  try {
    checkTwoTurns(up, turns, m.output);
  } catch (e) {
    assert.fail(`${(e as Error).message}${context}`);
  }
  assert.ok(run.ok, `the client did not finish cleanly${context}`);
  assert.ok(run.answer?.includes(answer), `the client's final answer is the upstream's turn-2 text (got ${JSON.stringify(run.answer)})${context}`);
}

// ---- the clients ----------------------------------------------------------------------------------------

async function claudeCode(core: TestCore, _answer: string): Promise<Run> {
  const home = mkdtempSync(join(work, 'claude-home-'));
  const cwd = join(home, 'project');
  mkdirSync(cwd);
  const r = await runClient(CLAUDE_BIN, ['-p', 'Run the check command with the Bash tool and tell me what it printed.', '--output-format', 'json', '--allowedTools', 'Bash(echo:*)', '--no-session-persistence'], {
    cwd,
    timeoutMs: CLI_TIMEOUT_MS,
    env: {
      PATH: process.env.PATH,
      HOME: home,
      LANG: 'C.UTF-8',
      ANTHROPIC_BASE_URL: core.url,
      ANTHROPIC_API_KEY: 'sk-ant-client-key',
      ANTHROPIC_SMALL_FAST_MODEL: 'claude-haiku-4-5',
      ANTHROPIC_DEFAULT_HAIKU_MODEL: 'claude-haiku-4-5',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
    },
  });
  let out: any;
  try {
    out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    out = undefined;
  }
  return {
    ok: r.code === 0 && out?.is_error === false,
    answer: out?.result,
    detail: `claude exit ${r.code}${r.timedOut ? ' (timed out)' : ''}; result ${JSON.stringify(out?.result)}; stderr ${tail(r.stderr, 600)}; stdout ${out ? '' : tail(r.stdout, 600)}`,
  };
}

async function codex(core: TestCore): Promise<Run> {
  const home = mkdtempSync(join(work, 'codex-home-'));
  const codexHome = join(home, '.codex');
  const cwd = join(home, 'project');
  mkdirSync(codexHome);
  mkdirSync(cwd);
  writeFileSync(
    join(codexHome, 'config.toml'),
    `model = "gpt-5.5"
model_provider = "router67"

[model_providers.router67]
name = "router67"
base_url = "${core.url}/v1"
env_key = "ROUTER67_CLIENT_KEY"
wire_api = "responses"
`,
  );
  const r = await runClient(CODEX_BIN, ['exec', '--skip-git-repo-check', '--json', 'Run the check command and tell me what it printed.'], {
    cwd,
    timeoutMs: CLI_TIMEOUT_MS,
    env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: codexHome, LANG: 'C.UTF-8', ROUTER67_CLIENT_KEY: 'sk-client-key' },
  });
  const events = r.stdout
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as any;
      } catch {
        return undefined;
      }
    })
    .filter(Boolean);
  const messages = events.filter((e) => e.type === 'item.completed' && e.item?.type === 'agent_message').map((e) => String(e.item.text));
  const failed = events.find((e) => e.type === 'turn.failed' || e.type === 'error');
  return {
    ok: r.code === 0 && events.some((e) => e.type === 'turn.completed') && !failed,
    answer: messages.at(-1),
    detail: `codex exit ${r.code}${r.timedOut ? ' (timed out)' : ''}; ${failed ? `error ${JSON.stringify(failed).slice(0, 400)}; ` : ''}events ${events.map((e) => e.type + (e.item?.type ? `:${e.item.type}` : '')).join(',')}; stderr ${tail(r.stderr, 600)}`,
  };
}

const WEATHER_SCHEMA = { type: 'object', properties: { city: { type: 'string', description: 'City name' } }, required: ['city'], additionalProperties: false };

async function aiSdk(core: TestCore, which: 'openai' | 'anthropic', m: { output: string }): Promise<Run> {
  const { streamText, tool, jsonSchema, stepCountIs } = libs.ai;
  let model: unknown;
  let providerOptions: Record<string, unknown> = {};
  if (which === 'openai') {
    const openai = libs.aiOpenai.createOpenAI({ baseURL: `${core.url}/v1`, apiKey: 'sk-client-key' });
    model = openai('gpt-5.5'); // the default provider: Responses API, store: true
    providerOptions = { openai: { reasoningEffort: 'low', reasoningSummary: 'auto' } };
  } else {
    const anthropic = libs.aiAnthropic.createAnthropic({ baseURL: `${core.url}/v1`, apiKey: 'sk-ant-client-key' });
    model = anthropic('claude-sonnet-4-6');
    providerOptions = { anthropic: { thinking: { type: 'enabled', budgetTokens: 1024 } } };
  }
  let error: unknown;
  const result = streamText({
    model,
    prompt: 'What is the weather in Paris? Use the tool.',
    tools: { get_weather: tool({ description: 'Current weather for a city', inputSchema: jsonSchema(WEATHER_SCHEMA), execute: async () => `weather report ${m.output}` }) },
    stopWhen: stepCountIs(3),
    maxRetries: 0,
    maxOutputTokens: 4096,
    providerOptions,
    onError: ({ error: e }: { error: unknown }) => (error = e),
  });
  let text: string | undefined;
  try {
    text = await result.text;
  } catch (e) {
    error ??= e;
  }
  return { ok: error === undefined, answer: text, detail: error ? `error: ${String((error as Error).message ?? error).slice(0, 600)}` : `text ${JSON.stringify(text)}` };
}

async function langChain(core: TestCore, which: 'openai' | 'anthropic', m: { output: string }): Promise<Run> {
  const { HumanMessage, ToolMessage } = libs.lcMessages;
  const chat =
    which === 'openai'
      ? new libs.lcOpenai.ChatOpenAI({ model: 'gpt-5.5', apiKey: 'sk-client-key', configuration: { baseURL: `${core.url}/v1` }, useResponsesApi: true, reasoning: { effort: 'low', summary: 'auto' }, maxRetries: 0 })
      : new libs.lcAnthropic.ChatAnthropic({ model: 'claude-sonnet-4-6', apiKey: 'sk-ant-client-key', anthropicApiUrl: core.url, maxTokens: 4096, thinking: { type: 'enabled', budget_tokens: 1024 }, maxRetries: 0 });
  const withTools = chat.bindTools([{ type: 'function', function: { name: 'get_weather', description: 'Current weather for a city', parameters: WEATHER_SCHEMA } }]);
  try {
    const messages: unknown[] = [new HumanMessage('What is the weather in Paris? Use the tool.')];
    const first = await withTools.invoke(messages);
    messages.push(first);
    if (!first.tool_calls?.length) return { ok: false, detail: `turn 1 made no tool call: ${JSON.stringify(first.content).slice(0, 300)}` };
    for (const c of first.tool_calls) messages.push(new ToolMessage({ content: `weather report ${m.output}`, tool_call_id: c.id }));
    const second = await withTools.invoke(messages);
    const text = typeof second.content === 'string' ? second.content : second.content.filter((c: any) => c.type === 'text').map((c: any) => c.text).join('');
    return { ok: true, answer: text, detail: `text ${JSON.stringify(text)}` };
  } catch (e) {
    return { ok: false, detail: `error: ${String((e as Error).message).slice(0, 600)}` };
  }
}

// ---- the matrix -----------------------------------------------------------------------------------------

const weather = () => ({ tool: 'get_weather', args: { city: 'Paris' } });

describe('real clients through router67 (test/clients)', { skip }, () => {
  for (const f of FORMATS) {
    describe(`upstream format ${f}`, () => {
      test(`Claude Code (claude -p) → router67 → ${f}: Bash tool call, then the answer`, { timeout: CLI_TIMEOUT_MS + 30_000 }, () =>
        drive(f, (core, a) => claudeCode(core, a), (m) => ({ tool: 'Bash', args: { command: m.command, description: 'Print the check marker' } })),
      );
      test(`Codex CLI (codex exec, default features) → router67 → ${f}: exec_command call, then the answer`, { timeout: CLI_TIMEOUT_MS + 30_000 }, () =>
        drive(f, (core) => codex(core), (m) => ({ tool: 'exec_command', args: { cmd: m.command } })),
      );
      test(`AI SDK @ai-sdk/openai (Responses, store) → router67 → ${f}`, { timeout: 60_000 }, () => drive(f, (core, _a, m) => aiSdk(core, 'openai', m), weather));
      test(`AI SDK @ai-sdk/anthropic (thinking) → router67 → ${f}`, { timeout: 60_000 }, () => drive(f, (core, _a, m) => aiSdk(core, 'anthropic', m), weather));
      test(`LangChain ChatOpenAI (Responses API) → router67 → ${f}`, { timeout: 60_000 }, () => drive(f, (core, _a, m) => langChain(core, 'openai', m), weather));
      test(`LangChain ChatAnthropic (thinking) → router67 → ${f}`, { timeout: 60_000 }, () => drive(f, (core, _a, m) => langChain(core, 'anthropic', m), weather));
    });
  }
});
