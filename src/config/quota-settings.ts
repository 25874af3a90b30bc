/**
 * The settings of issue 23's features that need more than a number or a word: the extra
 * auxiliary signatures (a JSON list) and the time zone of the daily budgets. Messages use the
 * same words as every other setting's (`expected …, got "…"`).
 */
import { z } from 'zod';
import { isTimeZone } from '../accounts/day-clock.js';
import { parseSignatures, type AuxiliarySignature } from '../auxiliary/signatures.js';

/** AUXILIARY_SIGNATURES: signatures added to the built-in table. */
export const auxiliarySignaturesSetting = z
  .string()
  .optional()
  .transform((v, ctx): AuxiliarySignature[] => {
    if (v === undefined || v.trim() === '') return [];
    try {
      return parseSignatures(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** DAILY_BUDGET_TIMEZONE: an IANA zone the runtime knows; default UTC. */
export const timeZoneSetting = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const zone = v?.trim() || 'UTC';
    if (isTimeZone(zone)) return zone;
    ctx.addIssue({ code: 'custom', message: `expected an IANA time zone such as UTC or Asia/Shanghai, got ${JSON.stringify(v)}` });
    return z.NEVER;
  });
