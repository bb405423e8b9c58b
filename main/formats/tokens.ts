// A local, deliberately conservative token estimate (used for count_tokens when no Anthropic-format
// provider can count, and for message_start.input_tokens before a translated upstream reports usage).
// It errs high: about 3 ASCII characters per token (real tokenizers average 3.5–4 on prose), every
// non-ASCII character at least one token, fixed overheads per message, tool, image and document page.
import type { Part, Request, ToolResultContent } from './canonical.js';

export function textTokens(s: string): number {
  let ascii = 0;
  let other = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) ascii++;
    else if (c >= 0xd800 && c <= 0xdbff) {
      other += 2; // astral plane (emoji, rare CJK): often 2–3 tokens
      i++;
    } else if (c >= 0x2e80) other += 1.5; // CJK, kana, hangul
    else other += 1;
  }
  return Math.ceil(ascii / 3 + other);
}

const IMAGE_TOKENS = 1600; // Anthropic caps an image at ~1600 tokens after resizing
const PDF_PAGE_TOKENS = 3000; // text plus the page image

function pdfPages(b64: string): number {
  let bytes: string;
  try {
    bytes = Buffer.from(b64, 'base64').toString('latin1');
  } catch {
    return 1;
  }
  const m = bytes.match(/\/Type\s*\/Page(?![s\w])/g);
  return Math.max(1, m ? m.length : Math.ceil(bytes.length / 3000));
}

function partTokens(p: Part | ToolResultContent): number {
  switch (p.type) {
    case 'text':
      return textTokens(p.text);
    case 'image':
      return IMAGE_TOKENS;
    case 'document':
      if (p.text !== undefined) return textTokens(p.text) + 20;
      if (p.data !== undefined && p.mediaType === 'application/pdf') return pdfPages(p.data) * PDF_PAGE_TOKENS;
      return PDF_PAGE_TOKENS;
    case 'thinking':
      return textTokens(p.text) + (p.redacted ? Math.ceil(p.redacted.length / 4) : 0);
    case 'tool_call':
      return textTokens(p.name) + textTokens(p.args) + 12;
    case 'tool_result': {
      let t = 12;
      for (const c of p.content) t += partTokens(c);
      return t;
    }
    case 'raw':
      return textTokens(JSON.stringify(p.value ?? '')) + 8;
  }
}

/** Conservative estimate of the input tokens a request will use. */
export function estimateTokens(req: Request): number {
  let t = 8;
  for (const s of req.system) t += textTokens(s.text) + 4;
  for (const m of req.messages) {
    t += 6;
    for (const p of m.parts) t += partTokens(p);
  }
  if (req.tools?.length) {
    t += 400; // the tool-use preamble the provider adds
    for (const tool of req.tools) {
      if (tool.kind === 'function') t += textTokens(tool.name) + textTokens(tool.description ?? '') + textTokens(JSON.stringify(tool.parameters)) + 12;
      else t += textTokens(JSON.stringify(tool.value ?? '')) + 200;
    }
  }
  if (req.responseFormat?.type === 'json_schema') t += textTokens(JSON.stringify(req.responseFormat.schema)) + 50;
  return t;
}
