/**
 * The version of the ocidist CLI, injected at bundle time.
 *
 * @since 0.1.0
 */
declare const __OCIDIST_VERSION__: string | undefined

/**
 * @since 0.1.0
 * @category constants
 */
export const version: string = typeof __OCIDIST_VERSION__ === "string" ? __OCIDIST_VERSION__ : "0.0.0-dev"
