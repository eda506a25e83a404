/**
 * What `-v` must not print: credentials, cookies, and the query of signed URLs. Registries redirect blob
 * downloads to storage URLs whose query *is* the credential (`X-Amz-Credential`, `X-Amz-Security-Token`,
 * `X-Amz-Signature`; Azure's `sig`, Google's `X-Goog-Signature`, CloudFront's `Signature`, …), in request
 * lines and in `Location`, `Content-Location` and `Link` headers.
 *
 * The policy, for every URL in a log line (request lines, URLs in header values, URLs inside log messages):
 * - every query value is replaced with `<redacted>` (the names stay, so the log still shows what was sent),
 *   except those of the parameters ocidist sends itself, which hold no secret and help debugging: `n`, `last`,
 *   `service`, `scope`, `artifactType`, `digest`, `mount`, `from`. An allow-list rather than a list of secret
 *   names: storage services name their signatures in too many ways, and a new one must not leak;
 * - user info (`https://user:password@host/`) and fragments are replaced with `<redacted>`;
 * - headers that carry credentials or cookies are `<redacted>` whole: `Authorization`, `Proxy-Authorization`,
 *   `Cookie`, `Set-Cookie`, and any whose name says token, secret, password, credential, signature or API key.
 */

const kept = new Set(["n", "last", "service", "scope", "artifacttype", "digest", "mount", "from"])

const REDACTED = "<redacted>"

const nameOf = (param: string): string => {
  const eq = param.indexOf("=")
  const raw = eq === -1 ? param : param.slice(0, eq)
  try {
    return decodeURIComponent(raw.replace(/\+/g, " "))
  } catch {
    return raw
  }
}

/**
 * A URL (absolute, or a reference such as `/v2/app/blobs/uploads/1?_state=…`) with its query values (but
 * ocidist's own parameters), user info and fragment replaced with `<redacted>`.
 *
 * @internal
 */
export const redactUrl = (url: string): string => {
  const hash = url.indexOf("#")
  const withoutFragment = hash === -1 ? url : url.slice(0, hash)
  const fragment = hash === -1 ? "" : `#${REDACTED}`
  const q = withoutFragment.indexOf("?")
  const base = (q === -1 ? withoutFragment : withoutFragment.slice(0, q))
    .replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)[^/?#]*@/, `$1${REDACTED}@`)
  if (q === -1) return base + fragment
  const query = withoutFragment.slice(q + 1).split("&").map((param) => {
    if (param === "") return param
    const name = nameOf(param)
    if (kept.has(name.toLowerCase())) return param
    const eq = param.indexOf("=")
    return `${eq === -1 ? param : param.slice(0, eq)}=${REDACTED}`
  })
  return `${base}?${query.join("&")}${fragment}`
}

const absoluteUrls = /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>]+/g

/**
 * `text` with every absolute URL in it redacted ({@link redactUrl}).
 *
 * @internal
 */
export const redactUrls = (text: string): string => text.replace(absoluteUrls, (url) => redactUrl(url))

const secretHeader =
  /^(authorization|proxy-authorization|cookie|set-cookie|set-cookie2)$|token|secret|passw|credential|signature|api-?key/i

/**
 * A header value as it may be logged: `<redacted>` for credentials and cookies; the URL of `Location` and
 * `Content-Location` redacted (relative ones too), the `<…>` targets of `Link`, and any absolute URL elsewhere.
 *
 * @internal
 */
export const redactHeader = (name: string, value: string): string => {
  const lower = name.toLowerCase()
  if (secretHeader.test(lower)) return REDACTED
  if (lower === "location" || lower === "content-location") return redactUrl(value.trim())
  if (lower === "link") return value.replace(/<([^>]*)>/g, (_, url: string) => `<${redactUrl(url)}>`)
  return redactUrls(value)
}
