/** Days since the Unix epoch (UTC): the unit of ticket expiry and of the daily introduction quota. */

export const DAY_MS = 86_400_000;

export function dayNumber(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** How many days of validity minted tickets get at least (PROTOCOL-V1: 60-day expiry). */
export const TICKET_LIFETIME_DAYS = 60;
/**
 * Tickets minted within one period of this many days share one expiry day, so the expiry the server
 * records in its spent set says nothing about which contact got a ticket or when.
 */
export const TICKET_EXPIRY_STEP_DAYS = 15;

/** The expiry day of tickets minted on `today`: at least `TICKET_LIFETIME_DAYS` ahead, quantised. */
export function ticketExpiryDay(today: number): number {
  return (Math.floor(today / TICKET_EXPIRY_STEP_DAYS) + 1) * TICKET_EXPIRY_STEP_DAYS + TICKET_LIFETIME_DAYS;
}
