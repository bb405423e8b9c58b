// Loads the client libraries installed in test/clients/node_modules (their own package.json, not the
// project's), so the compiled tests can use them without the project depending on them.
export const ai = await import('ai');
export const aiOpenai = await import('@ai-sdk/openai');
export const aiAnthropic = await import('@ai-sdk/anthropic');
export const lcOpenai = await import('@langchain/openai');
export const lcAnthropic = await import('@langchain/anthropic');
export const lcMessages = await import('@langchain/core/messages');
export const lcTools = await import('@langchain/core/tools');
