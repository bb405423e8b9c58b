// The issue's standard for a client's two turns, read from what the upstream received: turn 1 offered the
// scripted tool and got reasoning + a call; turn 2 carries the call, its result, and the reasoning back in the
// upstream's own form — Anthropic's thinking with its signature byte for byte, Responses' reasoning item with
// its encrypted_content byte for byte (or a reference to the item the upstream stored), DeepSeek-style
// `reasoning_content`, Ollama's `thinking`.
import assert from 'node:assert/strict';
import { THINKING, type AgentUpstream, type Turn } from './agent-upstream.js';

export function describeTurns(turns: Turn[]): string {
  return turns.map((t) => `${t.fmt} ${t.phase}${t.error ? `: ${t.error}` : ''}`).join('; ');
}

/** Asserts the two-turn exchange in `turns` (the requests one client run sent) met the standard. */
export function checkTwoTurns(up: AgentUpstream, turns: Turn[], toolOutput: string): void {
  const rejected = turns.filter((t) => t.phase === 'rejected');
  assert.equal(rejected.length, 0, `the upstream rejected a request: ${rejected.map((t) => t.error).join(' | ')}`);
  const call = turns.find((t) => t.phase === 'call');
  assert.ok(call, `turn 1 never reached the upstream with the scripted tool offered (requests: ${describeTurns(turns) || 'none'})`);
  const issued = call.issued!;
  const answer = turns.find((t) => t.phase === 'answer' && t.fmt === call.fmt);
  assert.ok(answer, `no turn 2 carrying the tool result reached the upstream (requests: ${describeTurns(turns)})`);
  assert.notEqual(issued.thinking, undefined, `turn 1 did not ask the ${call.fmt} upstream for reasoning (the client asked for it)`);
  const b = answer.body;
  switch (call.fmt) {
    case 'anthropic': {
      const asst = b.messages.findLast((m: any) => m.role === 'assistant' && Array.isArray(m.content) && m.content.some((c: any) => c.type === 'tool_use' && c.id === issued.callId));
      assert.ok(asst, 'turn 2: the assistant tool_use is present');
      const th = asst.content[0];
      assert.equal(th.type, 'thinking', 'turn 2: the assistant turn starts with its thinking block');
      assert.equal(th.signature, issued.signature, 'turn 2: thinking signature byte-identical');
      assert.equal(th.thinking, issued.thinking, 'turn 2: thinking text byte-identical');
      const res = b.messages.flatMap((m: any) => (Array.isArray(m.content) ? m.content : [])).find((c: any) => c.type === 'tool_result' && c.tool_use_id === issued.callId);
      assert.ok(res, 'turn 2: tool_result present');
      assert.match(JSON.stringify(res.content), new RegExp(toolOutput), 'turn 2: tool_result holds the tool output');
      break;
    }
    case 'openai': {
      const asst = b.messages.find((m: any) => m.role === 'assistant' && m.tool_calls?.some((t: any) => t.id === issued.callId));
      assert.ok(asst, 'turn 2: the assistant tool_calls are present');
      assert.equal(asst.reasoning_content, THINKING, 'turn 2: reasoning_content (thinking) present and unchanged');
      const res = b.messages.find((m: any) => m.role === 'tool' && m.tool_call_id === issued.callId);
      assert.ok(res, 'turn 2: tool message present');
      assert.match(JSON.stringify(res.content), new RegExp(toolOutput), 'turn 2: tool message holds the tool output');
      break;
    }
    case 'responses': {
      const items: any[] = (Array.isArray(b.input) ? b.input : []).map((it: any) => ({ raw: it, item: it.type === 'item_reference' ? (up.stored.get(it.id) ?? it) : it }));
      const rs = items.find((x: any) => x.item.type === 'reasoning' && (x.item.id === issued.reasoningId || (issued.signature !== undefined && x.item.encrypted_content === issued.signature)));
      assert.ok(rs, `turn 2: the reasoning item ${issued.reasoningId} is sent back (input: ${items.map((x: any) => x.raw.type).join(', ')})`);
      if (rs.raw.type === 'item_reference' || rs.raw.encrypted_content === undefined) {
        assert.ok(up.stored.has(issued.reasoningId!), 'turn 2: reasoning referenced by id, so turn 1 must have let the upstream store it');
      } else assert.equal(rs.raw.encrypted_content, issued.signature, 'turn 2: encrypted_content byte-identical');
      const fc = items.find((x: any) => x.item.type === 'function_call' && x.item.call_id === issued.callId);
      assert.ok(fc, 'turn 2: the function_call is present');
      const out = items.find((x: any) => x.item.type === 'function_call_output' && x.item.call_id === issued.callId);
      assert.ok(out, 'turn 2: function_call_output present');
      assert.match(JSON.stringify(out.item.output), new RegExp(toolOutput), 'turn 2: function_call_output holds the tool output');
      break;
    }
    case 'ollama': {
      const asst = b.messages.findLast((m: any) => m.role === 'assistant' && m.tool_calls?.length);
      assert.ok(asst, 'turn 2: the assistant tool_calls are present');
      assert.equal(asst.thinking, THINKING, 'turn 2: `thinking` present and unchanged');
      const res = b.messages.find((m: any) => m.role === 'tool');
      assert.ok(res, 'turn 2: tool message present');
      assert.match(JSON.stringify(res.content), new RegExp(toolOutput), 'turn 2: tool message holds the tool output');
      break;
    }
  }
}
