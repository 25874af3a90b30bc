/**
 * Where the OpenAI routes are served. Clients differ on whether the base URL ends in /v1,
 * and a conversation-scoped base URL (`/conversations/{id}/v1`) makes any OpenAI client
 * stateful just by changing its base URL.
 */
export const API_PREFIXES = ['', '/v1', '/conversations/:conversationId', '/conversations/:conversationId/v1'] as const;
