/** Model catalogs: legacy `/api/chat/models/available` (spec A.9) and Connect `GetAvailableModels` (spec B.8, 2026-09). */

const ICON = 'https://www.kimi.com/favicon.ico';

export function legacyCatalog(): Record<string, unknown> {
  return {
    model_list: [
      {
        name: 'K2',
        short_name: 'K2',
        description: 'Flagship model',
        description_i18n: { 'en-US': 'Flagship model', 'zh-CN': '旗舰模型' },
        model: 'k2',
        icon: ICON,
      },
      {
        name: 'K1.5',
        short_name: 'K1.5',
        description: 'Efficient model with vision',
        description_i18n: { 'en-US': 'Efficient model with vision', 'zh-CN': '视觉高效模型' },
        model: 'k1.5',
        icon: ICON,
        thinking: { model: 'k1.5-thinking' },
      },
    ],
    switch: { tip: 'Switched to K2', model: 'k2' },
    apply_default_ui: false,
  };
}

export function connectCatalog(): Record<string, unknown> {
  return {
    availableModels: [
      {
        scenario: 'SCENARIO_CHAT',
        displayName: 'Instant',
        description: 'Fast chat, quick replies',
        inputPlaceholder: 'Ask anything',
        key: 'k2d6',
        id: 'k2d6-chat',
        reasoningEffortOptions: [
          { effort: 'REASONING_EFFORT_NONE', displayName: 'Standard' },
          { effort: 'REASONING_EFFORT_LOW', displayName: 'High' },
        ],
        defaultReasoningEffort: 'REASONING_EFFORT_LOW',
      },
      {
        scenario: 'SCENARIO_OK_COMPUTER',
        displayName: 'K3',
        description: 'Agent that plans and uses tools',
        kimiPlusId: 'ok-computer',
        agentMode: 'TYPE_NORMAL',
        key: 'k3',
        id: 'k3-agent',
        switchableTo: ['k3-agent-swarm'],
        reasoningEffortOptions: [
          { effort: 'REASONING_EFFORT_LOW', displayName: 'Standard' },
          { effort: 'REASONING_EFFORT_HIGH', displayName: 'High' },
          { effort: 'REASONING_EFFORT_MAX', displayName: 'Max', description: 'Deepest reasoning' },
        ],
        defaultReasoningEffort: 'REASONING_EFFORT_HIGH',
        contextLengthOptions: [
          { contextLength: 'CONTEXT_LENGTH_L', displayName: 'Standard', available: true },
          { contextLength: 'CONTEXT_LENGTH_XL', displayName: 'Extra Long', label: 'Advanced', minMembershipLevel: 'LEVEL_ADVANCED' },
        ],
        defaultContextLength: 'CONTEXT_LENGTH_L',
      },
      {
        scenario: 'SCENARIO_OK_COMPUTER_SWARM',
        displayName: 'K3 Swarm',
        kimiPlusId: 'ok-computer',
        agentMode: 'TYPE_ULTRA',
        key: 'k3-agent-ultra',
        id: 'k3-agent-swarm',
        minMembershipLevel: 'LEVEL_BASIC',
        greeting: 'Many agents, one task',
      },
    ],
    defaultScenario: { scenario: 'SCENARIO_CHAT', model: 'k2d6-chat' },
  };
}
