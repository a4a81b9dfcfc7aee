// The benchmark's catalog: `tools` tools named `tool-0000`... that echo their `message`, and `blob(bytes, delayMs?)`,
// as MCP tool definitions (2025-11-25 server/tools). Served by the fixture server and the floor server alike.

/** @param {number} count @returns {object[]} the `count` echo tools, then `blob` */
export function fixtureTools(count) {
  return [
    ...Array.from({length: count}, (_, i) => ({
      name: `tool-${String(i).padStart(4, '0')}`,
      description: `Benchmark tool ${i}: answers with the message it is given, unchanged, as one text content item.`,
      inputSchema: {
        type: 'object',
        properties: {message: {type: 'string', description: 'The text to echo'}, repeat: {type: 'integer', minimum: 1}},
        required: ['message'],
      },
    })),
    {
      name: 'blob',
      description: 'Answers with one text of the given size in bytes.',
      inputSchema: {
        type: 'object',
        properties: {bytes: {type: 'integer', minimum: 0}, delayMs: {type: 'integer', minimum: 0}},
        required: ['bytes'],
      },
    },
  ];
}
