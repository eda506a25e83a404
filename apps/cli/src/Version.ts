/**
 * The version of the ocidist CLI, injected at bundle time from `apps/cli/package.json`. `ocidist version` prints
 * it and the `User-Agent` sends it (`ocidist/<version>`, unless `OCIDIST_USER_AGENT` is set).
 *
 * @since 0.1.0
 */
declare const __OCIDIST_VERSION__: string | undefined

/**
 * @since 0.1.0
 * @category constants
 */
export const version: string = typeof __OCIDIST_VERSION__ === "string" ? __OCIDIST_VERSION__ : "0.0.0-dev"
