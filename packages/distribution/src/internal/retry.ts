/**
 * The one retry policy of the registry client, as a `Schedule`: jittered exponential backoff from
 * `retry.base`, doubling, capped at `retry.max`, at most `times` retries; a failure that says how long to
 * wait (`Retry-After`, carried as `retryAfterMillis`) is waited for instead, and one that asks for more than
 * `retry.maxRetryAfter` ends the schedule at once. Used by the transport's per-request retries, blob-download
 * resumes (also bounded in time by `blobBudget`) and whole-upload retries; each call site decides which
 * failures are worth retrying.
 *
 * @internal
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schedule from "effect/Schedule"

/** @internal */
export interface Policy {
  readonly times: number
  readonly base: Duration.Duration
  readonly max: Duration.Duration
  readonly maxRetryAfter: Duration.Duration
  /** The time one blob download may lose to stalls and resumes (see `BlobStream`). */
  readonly blobBudget: Duration.Duration
}

/** @internal */
export interface PolicyOptions {
  readonly times?: number | undefined
  readonly base?: Duration.DurationInput | undefined
  readonly max?: Duration.DurationInput | undefined
  readonly maxRetryAfter?: Duration.DurationInput | undefined
  readonly blobBudget?: Duration.DurationInput | undefined
}

/**
 * The policy of the client options, with the defaults (4 retries, 200 ms doubling to 10 s, 60 s; 2 minutes
 * per blob download).
 *
 * @internal
 */
export const policy = (options: PolicyOptions | undefined): Policy => ({
  times: Math.max(0, options?.times ?? 4),
  base: Duration.decode(options?.base ?? "200 millis"),
  max: Duration.decode(options?.max ?? "10 seconds"),
  maxRetryAfter: Duration.decode(options?.maxRetryAfter ?? "60 seconds"),
  blobBudget: Duration.decode(options?.blobBudget ?? "2 minutes")
})

/**
 * The delay a failure asks for: the `retryAfterMillis` of a `TooManyRequests`, or of a retryable response.
 *
 * @internal
 */
export const retryAfterOf = (input: unknown): number | undefined =>
  Predicate.hasProperty(input, "retryAfterMillis") && typeof input.retryAfterMillis === "number"
    ? input.retryAfterMillis
    : undefined

/** Whether a failure asks to wait longer than the policy allows (then it is not retried). @internal */
export const tooLong = (self: Policy, input: unknown): boolean => {
  const after = retryAfterOf(input)
  return after !== undefined && after > Duration.toMillis(self.maxRetryAfter)
}

/**
 * The schedule of `self`, fed with the failures: `times` retries (default `self.times`). Its output is the
 * failure it was fed.
 *
 * @internal
 */
export const schedule = <In = unknown>(self: Policy, times: number = self.times): Schedule.Schedule<In, In> =>
  Schedule.exponential(self.base, 2).pipe(
    Schedule.modifyDelay((_, delay) => Duration.min(delay, self.max)),
    Schedule.jitteredWith({ min: 0.5, max: 1 }),
    Schedule.intersect(Schedule.recurs(Math.max(0, times))),
    Schedule.intersect(Schedule.identity<In>()),
    Schedule.whileInput((input: In) => !tooLong(self, input)),
    Schedule.modifyDelay(([, input], delay) => {
      const after = retryAfterOf(input)
      return after === undefined ? delay : Duration.millis(after)
    }),
    Schedule.map(([, input]) => input)
  )
