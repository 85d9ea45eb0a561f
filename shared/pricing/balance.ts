// The live balance (DESIGN §7) of the period containing `asOf`: usage, grants left, overage and
// the open statement's charges. Fields the edge owns (contract_id, stale, collectors) are added there.
import { emptyPeriodBurn, foldLedger, type PeriodBurn } from "./burn.ts";
import type { PricingInput } from "./input.ts";
import { ledgerFromIntervals, type UsageLedger } from "./ledger.ts";
import { periodAt } from "./periods.ts";
import { pricePeriod } from "./price.ts";
import { isoInstant, type Balance, type Statement } from "./statement-shape.ts";
import { statementFromLedger } from "./statement.ts";
import { pricingTerms, type GrantTerms, type PricingTerms } from "./terms.ts";
import { formatUnits } from "./units.ts";
import { parseScaled, formatScaled } from "../decimal/decimal.ts";
import { minorUnits } from "./currency.ts";

export const DEFAULT_LOW_THRESHOLD_PCT = 20;

export function computeBalance(input: PricingInput, asOf: number): Balance {
  const terms = pricingTerms(input.contract, input.plans, input.grants);
  return balanceFromLedger(terms, ledgerFromIntervals(terms, input.intervals), input.frozen ?? [], asOf);
}

/** The balance from an in-memory ledger, folding every period (the oracle). */
export function balanceFromLedger(terms: PricingTerms, ledger: UsageLedger, frozen: Statement[], asOf: number): Balance {
  const period = periodAt(terms.contract, asOf);
  const fold = foldLedger(terms, ledger, period.index);
  const burn = fold.periods.get(period.index) ?? emptyPeriodBurn(terms, period);
  return assembleBalance(terms, burn, (id) => fold.remaining.get(id)!, statementFromLedger(terms, ledger, frozen, period), asOf);
}

/**
 * The balance from the open period's burn, each grant's remaining units after it and the open
 * statement. A contract whose grants all start later is not exhausted: nothing has been granted yet.
 */
export function assembleBalance(terms: PricingTerms, burn: PeriodBurn, remainingOf: (grantId: string) => bigint, statement: Statement, asOf: number): Balance {
  const period = burn.period;
  const priced = pricePeriod(terms, burn);
  const plan = terms.versions[burn.version]!.terms;

  // Grants that count now: reaching into this period, not yet expired, and not used up before it
  // (a never-expiring grant used up months ago is history: counted in `granted`, it would put a
  // contract topped up every month at "low" the moment its fresh grant arrives).
  const usedUpBefore = (g: GrantTerms) => g.active_from < period.start && remainingOf(g.id) === 0n && !((burn.grants.get(g.id)?.units ?? 0n) > 0n);
  const current = terms.grants
    .filter((g) => g.active_from < period.end && (g.expires_at === null || g.expires_at > asOf) && !usedUpBefore(g))
    .sort((a, b) => a.active_from - b.active_from || (a.id < b.id ? -1 : 1));
  let granted = 0n, remaining = 0n;
  for (const g of current) { granted += g.amount; remaining += remainingOf(g.id); }
  const hadGrants = terms.grants.length > 0;
  const started = terms.grants.some((g) => g.active_from <= asOf);

  const minor = minorUnits(plan.currency);
  const sum = (kinds: string[]) => formatScaled(statement.lines.filter((l) => kinds.includes(l.kind)).reduce((s, l) => s + parseScaled(l.amount, minor), 0n), minor, minor);

  const pct = BigInt(terms.contract.low_threshold_pct ?? DEFAULT_LOW_THRESHOLD_PCT);
  const status: Balance["status"] = priced.unbilled_overage > 0n ? "blocked"
    : !hadGrants ? "ok"
    : granted === 0n ? (started ? "exhausted" : "ok")
    : remaining === 0n ? "exhausted"
    : remaining * 100n <= granted * pct ? "low" : "ok";

  const features = [...burn.by_feature.values()].sort((a, b) => (a.feature < b.feature ? -1 : 1));
  return {
    as_of: isoInstant(asOf),
    period: { start: isoInstant(period.start), end: isoInstant(period.end), start_date: period.start_date },
    unit_name: plan.unit_name,
    currency: plan.currency,
    usage: {
      units: formatUnits(burn.units),
      license_seconds: burn.license_ms / 1000,
      billed_license_seconds: burn.billed_ms / 1000,
      by_feature: features.map((f) => ({ feature: f.feature, units: formatUnits(f.units), draws: f.draws, license_seconds: f.license_ms / 1000, billed_license_seconds: f.billed_ms / 1000 })),
      unrated_features: features.filter((f) => !f.rated).map((f) => f.feature),
    },
    grants: current.map((g) => ({
      id: g.id, amount: formatUnits(g.amount), remaining: formatUnits(remainingOf(g.id)),
      effective_at: isoInstant(g.effective_at), expires_at: g.expires_at === null ? null : isoInstant(g.expires_at), priority: g.priority,
    })),
    granted_units: formatUnits(granted),
    remaining_units: hadGrants ? formatUnits(remaining) : null,
    overage_units: formatUnits(burn.overage_units),
    unbilled_overage_units: formatUnits(priced.unbilled_overage),
    charges: {
      fixed: sum(["fixed_fee", "commitment_true_up"]),
      usage: sum(["tier", "tier_flat_fee", "overage", "prepaid_usage"]),
      adjustments: sum(["adjustment"]),
      total: statement.total,
    },
    status,
  };
}
