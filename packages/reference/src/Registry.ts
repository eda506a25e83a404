/**
 * Where requests for a registry go, and how its credentials are keyed. Docker Hub is the special case:
 * references say `docker.io`, the API is served at `registry-1.docker.io`, and docker's `config.json`
 * keys its credentials as `https://index.docker.io/v1/`. This module is the one place that knows it.
 *
 * @since 0.1.0
 */

/**
 * The registry of references without a domain.
 *
 * @since 0.1.0
 * @category constants
 */
export const DOCKER_HUB = "docker.io"

/**
 * The host that serves Docker Hub's registry API.
 *
 * @since 0.1.0
 * @category constants
 */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io"

/**
 * The key docker uses for Docker Hub credentials in `config.json` and with credential helpers.
 *
 * @since 0.1.0
 * @category constants
 */
export const DOCKER_HUB_CREDENTIAL_KEY = "https://index.docker.io/v1/"

const hubAliases = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"])

/**
 * Reduces a registry key or URL to `host[:port]`, lower-cased: `https://GHCR.io/v2/` → `ghcr.io`,
 * `localhost:5000` → `localhost:5000`.
 *
 * @since 0.1.0
 * @category normalization
 */
export const normalizeHost = (keyOrUrl: string): string => {
  let s = keyOrUrl.trim()
  const scheme = s.indexOf("://")
  if (scheme !== -1) s = s.slice(scheme + 3)
  const slash = s.indexOf("/")
  if (slash !== -1) s = s.slice(0, slash)
  const at = s.lastIndexOf("@")
  if (at !== -1) s = s.slice(at + 1)
  return s.toLowerCase()
}

/**
 * Whether a registry name, host, credential key or URL designates Docker Hub.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isDockerHub = (hostOrKey: string): boolean => hubAliases.has(normalizeHost(hostOrKey))

/**
 * The canonical registry name: Docker Hub aliases fold into `docker.io`, other hosts are lower-cased.
 *
 * @since 0.1.0
 * @category normalization
 */
export const canonical = (hostOrKey: string): string => isDockerHub(hostOrKey) ? DOCKER_HUB : normalizeHost(hostOrKey)

/**
 * Whether two registry names, keys or URLs designate the same registry.
 *
 * @since 0.1.0
 * @category predicates
 */
export const same = (a: string, b: string): boolean => canonical(a) === canonical(b)

/**
 * The host (and port) that serves a registry's API: `docker.io` → `registry-1.docker.io`.
 *
 * @since 0.1.0
 * @category endpoints
 */
export const apiHost = (registry: string): string => isDockerHub(registry) ? DOCKER_HUB_API_HOST : registry

/**
 * The key under which docker stores credentials for a registry: `docker.io` → `https://index.docker.io/v1/`.
 *
 * @since 0.1.0
 * @category endpoints
 */
export const credentialKey = (registry: string): string =>
  isDockerHub(registry) ? DOCKER_HUB_CREDENTIAL_KEY : normalizeHost(registry)

/**
 * The host name of a registry without its port: `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `::1`.
 *
 * @since 0.1.0
 * @category endpoints
 */
export const hostname = (registry: string): string => {
  const host = normalizeHost(registry)
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]"))
  const colon = host.lastIndexOf(":")
  return colon === -1 ? host : host.slice(0, colon)
}

/**
 * Whether a registry is on this machine (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`). Such registries
 * are tried over HTTPS first and spoken to over plain HTTP when their TLS handshake shows that (see
 * {@link speaksPlainHttp}), as crane and regctl do.
 *
 * @since 0.1.0
 * @category predicates
 */
export const isLoopback = (registry: string): boolean => {
  const name = hostname(registry)
  return name === "localhost" || name.endsWith(".localhost") || name === "::1" || /^127(?:\.\d{1,3}){3}$/.test(name)
}

/**
 * Whether a failed TLS connection shows a server that speaks plain HTTP: an HTTP server answers the handshake
 * with `400 Bad Request` and closes, which OpenSSL reads as a record of a wrong version or length, or the
 * connection is closed before the handshake completed. `description` is the error's message (its causes' and
 * their codes too). A certificate that fails verification is not such a sign.
 *
 * @since 0.4.0
 * @category predicates
 */
export const speaksPlainHttp = (description: string): boolean =>
  /wrong version number|packet length too long|EPROTO|ECONNRESET|before secure TLS connection|other side closed|socket hang up/i
    .test(description)
