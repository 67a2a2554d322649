/**
 * The user's traffic-budget choice (PROTOCOL-V1.md 4c) as the engine stores it: a preset, and the
 * three numbers of "Custom". The custom numbers are kept while another preset is chosen, so
 * switching back to Custom finds them again.
 */
import { z } from 'zod';

export const BUDGET_PRESETS = ['off', 'low', 'medium', 'high', 'custom'] as const;
export type BudgetPreset = (typeof BUDGET_PRESETS)[number];

/** The server extension's largest page (`max_page` of the discovery document). */
export const MAX_PAGE = 8;
/** Bounds of Custom: a slot of 30 s to 6 h, up to 8 POSTs and a page of up to 8 parts. */
export const CUSTOM_LIMITS = {
  slotSeconds: { min: 30, max: 6 * 3600 },
  postsPerSlot: { min: 1, max: 8 },
  page: { min: 1, max: MAX_PAGE },
} as const;

const bounded = (limits: { min: number; max: number }) => z.number().int().min(limits.min).max(limits.max);

export const trafficBudgetSchema = z.object({
  preset: z.enum(BUDGET_PRESETS),
  custom: z.object({
    slotSeconds: bounded(CUSTOM_LIMITS.slotSeconds),
    postsPerSlot: bounded(CUSTOM_LIMITS.postsPerSlot),
    page: bounded(CUSTOM_LIMITS.page),
  }),
});
export type TrafficBudgetSetting = z.infer<typeof trafficBudgetSchema>;

/** Off, with Custom starting from Medium's numbers. */
export const DEFAULT_TRAFFIC_BUDGET: TrafficBudgetSetting = { preset: 'off', custom: { slotSeconds: 300, postsPerSlot: 2, page: 4 } };
