/** The tool emulation's drift, failure, schema and repair counters, seen on /metrics after real requests. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson, startHarness, type Harness } from './helpers/harness.js';
import { emuCall } from './helpers/texts.js';

const TOOLS = [
  {
    type: 'function',
    function: { name: 'secret_tool_name', parameters: { type: 'object', properties: { path: { type: 'string' }, n: { type: 'integer' } }, required: ['path'] } },
  },
];

function series(text: string, name: string, label: string): number | undefined {
  const m = new RegExp(`^${name}\\{${label}\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

describe('tool emulation metrics', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ logLevel: 'silent' });
  });
  afterAll(async () => h.close());

  it('count drift, unknown functions, repairs and forwarded schema mismatches with fixed labels only', async () => {
    const ask = async (directive: string) => {
      const res = await postJson(h, { model: 'k2', tools: TOOLS, messages: [{ role: 'user', content: `Go. ${directive}` }] });
      expect(res.status).toBe(200);
      return res.json.choices[0].message.tool_calls as Array<{ function: { name: string; arguments: string } }>;
    };
    const args = { path: 'private/argument-value.txt', n: 2 };
    expect((await ask(emuCall('secret_tool_name', args, { form: 'k3' })))[0]!.function.name).toBe('secret_tool_name');
    expect(await ask(emuCall('secret_tool_name', args, { form: 'bare' }))).toHaveLength(1);
    // An unknown function: one repair turn, answered with the right one.
    expect(await ask(emuCall('not_offered', args, { fixcall: 'secret_tool_name' }))).toHaveLength(1);
    // Missing the required argument: forwarded (TOOL_SCHEMA_MISMATCH=forward) for the client to report.
    expect(JSON.parse((await ask(emuCall('secret_tool_name', { n: 1 })))[0]!.function.arguments)).toEqual({ n: 1 });

    const text = await (await fetch(`${h.base}/metrics`)).text();
    expect(series(text, 'kimi_proxy_tool_call_drift_total', 'format="k3_xtml"')).toBe(1);
    expect(series(text, 'kimi_proxy_tool_call_drift_total', 'format="json_bare"')).toBe(1);
    expect(series(text, 'kimi_proxy_tool_parse_failures_total', 'reason="unknown_tool"')).toBe(1);
    expect(series(text, 'kimi_proxy_tool_repair_turns_total', 'reason="invalid_tool_call"')).toBe(1);
    expect(series(text, 'kimi_proxy_tool_repair_turns_total', 'reason="missing_tool_call"')).toBe(0);
    expect(series(text, 'kimi_proxy_tool_schema_mismatches_total', 'action="forwarded"')).toBe(1);
    for (const content of ['secret_tool_name', 'not_offered', 'argument-value', 'Go.']) expect(text).not.toContain(content);
  });
});
