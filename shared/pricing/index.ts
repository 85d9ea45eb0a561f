// Public API of the pricing engine (DESIGN §5–§7): pure functions of plain data, used by the
// edge's ContractDO for live balances and statements and by the collector for offline estimates.
export { parsePlan, planSchema, MODELS, type Plan, type PlanResult, type Model } from "./plan-schema.ts";
export { PricingError, type PricingErrorCode } from "./errors.ts";
export type { PricingInput, ContractInput, PlanVersion, GrantInput, UsageInterval } from "./input.ts";
export type { Statement, StatementLine, LineKind, Balance, BalanceGrant } from "./statement-shape.ts";
export { periodAt, periodByIndex, periodIndexAt, periodStarting, periodsBetween, periodCloseAt, type Period, type PeriodContract } from "./periods.ts";
export { pricingTerms, versionAt, segmentStartAt, type PricingTerms } from "./terms.ts";
export { billedMs, compareRefs, firstInterval, rateNextInterval, rateSession, type RatedPiece, type SessionCursor } from "./rate.ts";
export { rateIntervals } from "./rate-intervals.ts";
export { checkoutKey, drawOf, drawPieces, sameDraw, useOf, usePosition, type Draw, type Use } from "./draws.ts";
export { emptyLedger, addPieces, removePieces, ledgerFromIntervals, bucketKey, type UsageLedger, type UsageBucket, type BucketKey } from "./ledger.ts";
export { burnPeriod, foldLedger, type GrantState, type UnitRange } from "./burn.ts";
export type { PricedLine } from "./price.ts";
export { computeStatement, statementFromLedger, pricedStatement, ledgerSource, type LineValue, type StatementSource } from "./statement.ts";
export { computeBalance, balanceFromLedger, DEFAULT_LOW_THRESHOLD_PCT } from "./balance.ts";
export { minorUnits } from "./currency.ts";
export { UNIT_DEN, formatUnits, unitsFromText } from "./units.ts";
export { LiveLedger } from "./live/live-ledger.ts";
export { LiveStatements } from "./live/live-statements.ts";
export { traceLine, type RecordRun, type TraceCursor, type TracedLine } from "./live/line-trace.ts";
export { drawLineOf, traceDrawLine, type DrawLine } from "./live/draw-line-trace.ts";
export type { LiveStore, LiveMeta, RerateJob, SessionState, TracePiece, UsePosition } from "./live/store.ts";
export { planVersionChange, grantChange, type TermsChange } from "./live/terms-change.ts";
