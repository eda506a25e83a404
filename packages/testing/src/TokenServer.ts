/**
 * An in-process Docker/OCI token server (`node:http` inside the test process) that signs JWTs a real
 * `docker-registry` in `auth.token` mode accepts. Implements the docker token spec (GET with optional
 * Basic credentials) and the OAuth2 form flow (POST `grant_type=password|refresh_token`), records every
 * request and counts them, and can be told to misbehave (POST 404/405, delays, only one token field).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import * as os from "node:os"
import * as path from "node:path"
import type * as DockerRegistry from "./DockerRegistry.js"
import * as Certs from "./internal/certs.js"
import * as Defaults from "./internal/defaults.js"
import * as TestHarnessError from "./TestHarnessError.js"

/**
 * Signing key: generated (RS256 by default, or ES256) or taken from PEM files.
 *
 * @since 0.1.0
 * @category models
 */
export type SigningKey =
  /** Generated. Shared by all token servers of the process unless `unique` (a "foreign" key for negative tests). */
  | { readonly algorithm: "RS256" | "ES256"; readonly unique?: boolean }
  | { readonly keyPath: string; readonly certPath: string }

/**
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default: testuser/testpassword (full access), reader/readerpass (read-only). */
  readonly users?: ReadonlyArray<DockerRegistry.User>
  /** Repositories anyone (also anonymous) may pull: a name prefix, "*" = all, "" = none. Default "public/". */
  readonly anonymousPullPrefix?: string
  /** Default true; false: token requests without credentials get 401. */
  readonly anonymousTokens?: boolean
  /** `expires_in` and the JWT lifetime. Default 300. */
  readonly ttlSeconds?: number
  /** Default "ocidist-test-registry". */
  readonly service?: string
  /** Default "ocidist-test-issuer". */
  readonly issuer?: string
  /** Default: a generated RSA key (RS256), cached per process. */
  readonly signingKey?: SigningKey
  /** How the JWT header names its key: libtrust `kid` (default), `x5c` chain, or both. */
  readonly headerMode?: "kid" | "x5c" | "both"
  /** How POST answers: real OAuth2 (default), or 404 / 405 to exercise the client's fallback to GET. */
  readonly postMode?: "oauth2" | "not-found" | "method-not-allowed"
  /** Include `issued_at` in responses. Default true. */
  readonly issuedAt?: boolean
  /** Which GET response field(s) carry the token. Default "both". */
  readonly responseField?: "both" | "token" | "access_token"
  /** Artificial delay before answering a token request, in ms. */
  readonly delayMs?: number
  /** Serve HTTPS with this certificate. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string }
  /** POST without client_id: 400 (default true, as docker's OAuth2 spec requires the field). */
  readonly requireClientId?: boolean
  /** Path of the token endpoint. Default "/token". */
  readonly path?: string
}

/**
 * Request counters.
 *
 * @since 0.1.0
 * @category models
 */
export interface Stats {
  readonly requests: number
  readonly get: number
  readonly post: number
  readonly issued: number
  readonly refreshIssued: number
  readonly unauthorized: number
  readonly badRequest: number
  readonly notFound: number
}

/**
 * One request as the token server saw it. Passwords are never recorded.
 *
 * @since 0.1.0
 * @category models
 */
export interface RecordedRequest {
  readonly method: string
  readonly path: string
  /** `scope` query parameters (GET) or the space-split form `scope` (POST). */
  readonly scopes: ReadonlyArray<string>
  readonly service: string | undefined
  /** The Basic auth user name (GET) or the form `username` (POST password grant). */
  readonly username: string | undefined
  readonly hadBasicAuth: boolean
  readonly grantType: string | undefined
  readonly clientId: string | undefined
  readonly offlineToken: boolean
  readonly status: number
  /** The `access` claim granted, when a token was issued. */
  readonly granted: ReadonlyArray<Access>
}

/**
 * An entry of the JWT `access` claim.
 *
 * @since 0.1.0
 * @category models
 */
export interface Access {
  readonly type: string
  readonly class?: string
  readonly name: string
  readonly actions: ReadonlyArray<string>
}

/**
 * @since 0.1.0
 * @category models
 */
export interface Instance {
  /** The realm, e.g. "http://127.0.0.1:PORT/token". */
  readonly url: string
  readonly service: string
  readonly issuer: string
  /** PEM of the signing certificate (`rootcertbundle` for the registry). */
  readonly certPath: string
  readonly algorithm: "RS256" | "ES256"
  /** libtrust key ID of the signing key. */
  readonly keyId: string
  readonly stats: Effect.Effect<Stats>
  readonly resetStats: Effect.Effect<void>
  readonly requests: Effect.Effect<ReadonlyArray<RecordedRequest>>
  /**
   * Signs an arbitrary token with the server's key (for expired / not-yet-valid / wrong-audience tests).
   * `expiresInSeconds` may be negative.
   */
  readonly signToken: (claims: {
    readonly subject?: string
    readonly access: ReadonlyArray<Access>
    readonly expiresInSeconds?: number
    readonly audience?: string
    readonly issuer?: string
  }) => Effect.Effect<string>
}

interface Policy {
  readonly full: Map<string, string>
  readonly readOnly: Map<string, string>
  readonly anonPrefixes: ReadonlyArray<string>
}

type Role = "full" | "ro" | null

const safeEqual = (a: string, b: string): boolean => {
  const ha = crypto.createHash("sha256").update(a).digest()
  const hb = crypto.createHash("sha256").update(b).digest()
  return crypto.timingSafeEqual(ha, hb)
}

const checkPassword = (policy: Policy, user: string, pass: string): Role => {
  const full = policy.full.get(user)
  if (full !== undefined && safeEqual(full, pass)) return "full"
  const ro = policy.readOnly.get(user)
  if (ro !== undefined && safeEqual(ro, pass)) return "ro"
  return null
}

const roleOf = (policy: Policy, user: string): Role =>
  policy.full.has(user) ? "full" : policy.readOnly.has(user) ? "ro" : null

interface ParsedScope {
  readonly type: string
  readonly class: string | undefined
  readonly name: string
  readonly actions: ReadonlyArray<string>
}

// "repository:foo/bar:pull,push" | "repository(plugin):foo:pull" | "registry:catalog:*"
const parseScope = (s: string): ParsedScope | undefined => {
  const first = s.indexOf(":")
  const last = s.lastIndexOf(":")
  if (first <= 0 || last === first) return undefined
  let type = s.slice(0, first)
  let cls: string | undefined
  const m = /^([a-z0-9]+)\(([a-z0-9]+)\)$/.exec(type)
  if (m) {
    type = m[1] ?? type
    cls = m[2]
  }
  const name = s.slice(first + 1, last)
  if (name === "") return undefined
  return { type, class: cls, name, actions: s.slice(last + 1).split(",").filter((a) => a !== "") }
}

const allowedActions = (policy: Policy, role: Role, scope: ParsedScope): Array<string> => {
  const allowed = new Set<string>()
  if (scope.type === "repository") {
    if (policy.anonPrefixes.some((p) => p === "*" || scope.name.startsWith(p))) allowed.add("pull")
    if (role === "ro") allowed.add("pull")
    if (role === "full") { for (const a of ["pull", "push", "delete", "*"]) allowed.add(a) }
  } else if (scope.type === "registry" && scope.name === "catalog") {
    if (role === "full") allowed.add("*")
  }
  return scope.actions.filter((a) => allowed.has(a))
}

const grant = (policy: Policy, role: Role, scopes: ReadonlyArray<string>): Array<Access> => {
  const byKey = new Map<string, { type: string; class?: string; name: string; actions: Array<string> }>()
  for (const raw of scopes) {
    for (const s of raw.split(" ")) {
      if (s === "") continue
      const scope = parseScope(s)
      if (scope === undefined) continue
      const key = `${scope.type}|${scope.class ?? ""}|${scope.name}`
      const current = byKey.get(key) ??
        {
          type: scope.type,
          ...(scope.class === undefined ? {} : { class: scope.class }),
          name: scope.name,
          actions: []
        }
      for (const a of allowedActions(policy, role, scope)) if (!current.actions.includes(a)) current.actions.push(a)
      byKey.set(key, current)
    }
  }
  return [...byKey.values()].filter((e) => e.actions.length > 0)
}

const b64u = (data: string | Buffer): string => Buffer.from(data).toString("base64url")

const errorBody = (code: string, message: string) => ({
  errors: [{ code, message, detail: null }],
  error: code.toLowerCase(),
  error_description: message
})

interface MutableStats {
  requests: number
  get: number
  post: number
  issued: number
  refreshIssued: number
  unauthorized: number
  badRequest: number
  notFound: number
}

const zeroStats = (): MutableStats => ({
  requests: 0,
  get: 0,
  post: 0,
  issued: 0,
  refreshIssued: 0,
  unauthorized: 0,
  badRequest: 0,
  notFound: 0
})

const loadKey = (
  signingKey: SigningKey | undefined
): Effect.Effect<{ keyPem: string; certPem: string }, TestHarnessError.TestHarnessError> => {
  if (signingKey !== undefined && "keyPath" in signingKey) {
    return Effect.try({
      try: () => ({
        keyPem: fs.readFileSync(signingKey.keyPath, "utf8"),
        certPem: fs.readFileSync(signingKey.certPath, "utf8")
      }),
      catch: (error) => TestHarnessError.make("cannot read the token signing key", error)
    })
  }
  const algorithm = signingKey?.algorithm ?? "RS256"
  const suffix = signingKey?.unique === true ? `-${crypto.randomBytes(6).toString("hex")}` : ""
  return Certs.selfSigned(algorithm === "RS256" ? "rsa" : "ec", `ocidist-token-signer-${algorithm}${suffix}`)
}

/**
 * Starts the token server on 127.0.0.1 (port 0). It stops, and its temp dir is removed, when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const start = Effect.fn("TokenServer.start")(function*(options: Options = {}) {
  const users = options.users ?? Defaults.defaultUsers
  const service = options.service ?? Defaults.defaultService
  const issuer = options.issuer ?? Defaults.defaultIssuer
  const ttl = options.ttlSeconds ?? 300
  const tokenPath = options.path ?? "/token"
  const anonymousTokens = options.anonymousTokens ?? true
  const postMode = options.postMode ?? "oauth2"
  const withIssuedAt = options.issuedAt ?? true
  const responseField = options.responseField ?? "both"
  const delayMs = options.delayMs ?? 0
  const requireClientId = options.requireClientId ?? true
  const headerMode = options.headerMode ?? "kid"
  const policy: Policy = {
    full: new Map(users.filter((u) => u.readOnly !== true).map((u) => [u.username, u.password])),
    readOnly: new Map(users.filter((u) => u.readOnly === true).map((u) => [u.username, u.password])),
    anonPrefixes: (options.anonymousPullPrefix ?? "public/").split(",").filter((p) => p !== "")
  }

  const { certPem, keyPem } = yield* loadKey(options.signingKey)
  const setup = yield* Effect.try({
    try: () => {
      const privateKey = crypto.createPrivateKey(keyPem)
      const publicKey = crypto.createPublicKey(privateKey)
      const algorithm: "RS256" | "ES256" = privateKey.asymmetricKeyType === "rsa" ? "RS256" : "ES256"
      if (algorithm === "ES256" && privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
        throw new Error("the signing key must be RSA or EC P-256")
      }
      const cert = new crypto.X509Certificate(certPem)
      if (
        !cert.publicKey.export({ type: "spki", format: "der" }).equals(
          publicKey.export({ type: "spki", format: "der" })
        )
      ) {
        throw new Error("the signing certificate does not match the key")
      }
      return { privateKey, algorithm, kid: Certs.libtrustKeyId(publicKey), x5c: Certs.certificatesOf(certPem) }
    },
    catch: (error) => TestHarnessError.make("invalid token signing key", error)
  })
  const tlsMaterial = options.tls === undefined ? undefined : yield* Effect.try({
    try: () => ({ cert: fs.readFileSync(options.tls!.certPath), key: fs.readFileSync(options.tls!.keyPath) }),
    catch: (error) => TestHarnessError.make("cannot read the token server TLS certificate", error)
  })

  const dir = yield* Effect.acquireRelease(
    Effect.try({
      try: () => fs.mkdtempSync(path.join(os.tmpdir(), "ocidist-token-")),
      catch: (error) => TestHarnessError.make("cannot create a temp dir", error)
    }),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const certPath = path.join(dir, `token-signing-${setup.algorithm}.crt`)
  yield* Effect.try({
    try: () => fs.writeFileSync(certPath, certPem),
    catch: (error) => TestHarnessError.make("cannot write the signing certificate", error)
  })

  let stats = zeroStats()
  const recorded: Array<RecordedRequest> = []
  const refreshTokens = new Map<string, string>()

  const sign = (claims: {
    readonly subject?: string
    readonly access: ReadonlyArray<Access>
    readonly expiresInSeconds?: number
    readonly audience?: string
    readonly issuer?: string
  }) => {
    const now = Math.floor(Date.now() / 1000)
    const header: Record<string, unknown> = { typ: "JWT", alg: setup.algorithm }
    if (headerMode === "kid" || headerMode === "both") header.kid = setup.kid
    if (headerMode === "x5c" || headerMode === "both") header.x5c = setup.x5c
    const body = {
      iss: claims.issuer ?? issuer,
      sub: claims.subject ?? "",
      aud: claims.audience ?? service,
      exp: now + (claims.expiresInSeconds ?? ttl),
      nbf: now - 1,
      iat: now,
      jti: crypto.randomBytes(16).toString("hex"),
      access: claims.access
    }
    const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(body))}`
    const signature = setup.algorithm === "RS256"
      ? crypto.sign("sha256", Buffer.from(input), setup.privateKey)
      : crypto.sign("sha256", Buffer.from(input), { key: setup.privateKey, dsaEncoding: "ieee-p1363" })
    return { jwt: `${input}.${b64u(signature)}`, issuedAt: new Date(now * 1000).toISOString() }
  }

  const newRefreshToken = (user: string) => {
    const token = crypto.randomBytes(24).toString("base64url")
    refreshTokens.set(token, user)
    return token
  }

  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    stats.requests++
    const url = new URL(req.url ?? "/", "http://localhost")
    const record: {
      -readonly [K in keyof RecordedRequest]: RecordedRequest[K]
    } = {
      method: req.method ?? "",
      path: url.pathname,
      scopes: [],
      service: undefined,
      username: undefined,
      hadBasicAuth: false,
      grantType: undefined,
      clientId: undefined,
      offlineToken: false,
      status: 0,
      granted: []
    }
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const data = typeof body === "string" ? body : JSON.stringify(body)
      record.status = status
      recorded.push({ ...record })
      res.writeHead(status, {
        "Content-Type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
        "Content-Length": String(Buffer.byteLength(data)),
        "Cache-Control": "no-store",
        ...headers
      })
      res.end(data)
    }
    const unauthorized = (message: string) => {
      stats.unauthorized++
      send(401, errorBody("UNAUTHORIZED", message), { "WWW-Authenticate": `Basic realm="${service} token server"` })
    }
    const badRequest = (message: string) => {
      stats.badRequest++
      send(400, errorBody("INVALID_REQUEST", message))
    }
    const later = (f: () => void) => (delayMs > 0 ? setTimeout(f, delayMs) : f())

    if (url.pathname !== tokenPath) {
      stats.notFound++
      return send(404, errorBody("NOT_FOUND", "not found"))
    }
    if (req.method === "GET") {
      stats.get++
      const svc = url.searchParams.get("service") ?? undefined
      record.service = svc
      record.scopes = url.searchParams.getAll("scope")
      record.offlineToken = url.searchParams.get("offline_token") === "true"
      if (svc !== undefined && svc !== service) return later(() => badRequest(`unknown service ${JSON.stringify(svc)}`))
      const authorization = req.headers.authorization
      let role: Role = null
      let user = ""
      if (authorization !== undefined) {
        const m = /^Basic\s+(.+)$/i.exec(authorization)
        const decoded = m === null ? undefined : Buffer.from(m[1] ?? "", "base64").toString("utf8")
        const colon = decoded === undefined ? -1 : decoded.indexOf(":")
        if (decoded === undefined || colon < 0) return later(() => unauthorized("malformed Authorization header"))
        record.hadBasicAuth = true
        user = decoded.slice(0, colon)
        record.username = user
        role = checkPassword(policy, user, decoded.slice(colon + 1))
        if (role === null) return later(() => unauthorized("invalid username or password"))
      } else if (!anonymousTokens) {
        return later(() => unauthorized("authentication required"))
      }
      const access = grant(policy, role, record.scopes)
      record.granted = access
      return later(() => {
        const { issuedAt, jwt } = sign({ subject: user, access })
        stats.issued++
        const body: Record<string, unknown> = {}
        if (responseField !== "access_token") body.token = jwt
        if (responseField !== "token") body.access_token = jwt
        body.expires_in = ttl
        if (withIssuedAt) body.issued_at = issuedAt
        if (user !== "" && record.offlineToken) body.refresh_token = newRefreshToken(user)
        send(200, body)
      })
    }
    if (req.method === "POST") {
      stats.post++
      if (postMode === "not-found") {
        stats.notFound++
        return later(() => send(404, "404 page not found\n"))
      }
      if (postMode === "method-not-allowed") {
        return later(() => send(405, errorBody("UNSUPPORTED", "method not allowed"), { Allow: "GET" }))
      }
      const chunks: Array<Buffer> = []
      let size = 0
      req.on("data", (chunk: Buffer) => {
        size += chunk.length
        if (size > 1 << 20) req.destroy()
        else chunks.push(chunk)
      })
      req.on("end", () =>
        later(() => {
          const contentType = String(req.headers["content-type"] ?? "").toLowerCase()
          if (!contentType.startsWith("application/x-www-form-urlencoded")) {
            return badRequest("expected an application/x-www-form-urlencoded body")
          }
          const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"))
          const grantType = form.get("grant_type") ?? undefined
          const svc = form.get("service") ?? undefined
          record.grantType = grantType
          record.service = svc
          record.clientId = form.get("client_id") ?? undefined
          record.scopes = form.getAll("scope").flatMap((s) => s.split(" ")).filter((s) => s !== "")
          record.hadBasicAuth = req.headers.authorization !== undefined
          if (svc !== undefined && svc !== service) return badRequest(`unknown service ${JSON.stringify(svc)}`)
          if (requireClientId && record.clientId === undefined) return badRequest("client_id is required")
          let user: string
          let role: Role
          let refresh: string
          if (grantType === "password") {
            const username = form.get("username")
            const password = form.get("password")
            if (username === null || password === null) return badRequest("username and password are required")
            user = username
            record.username = username
            role = checkPassword(policy, username, password)
            if (role === null) return unauthorized("invalid username or password")
            refresh = newRefreshToken(user)
          } else if (grantType === "refresh_token") {
            const token = form.get("refresh_token")
            if (token === null) return badRequest("refresh_token is required")
            const owner = refreshTokens.get(token)
            role = owner === undefined ? null : roleOf(policy, owner)
            if (owner === undefined || role === null) return unauthorized("invalid refresh token")
            user = owner
            record.username = owner
            refresh = token
            stats.refreshIssued++
          } else {
            return badRequest(`unsupported grant_type ${JSON.stringify(grantType ?? null)}`)
          }
          const access = grant(policy, role, record.scopes)
          record.granted = access
          const { issuedAt, jwt } = sign({ subject: user, access })
          stats.issued++
          const body: Record<string, unknown> = { access_token: jwt, token_type: "Bearer", expires_in: ttl }
          if (withIssuedAt) body.issued_at = issuedAt
          body.scope = access.map((a) => `${a.type}${a.class ? `(${a.class})` : ""}:${a.name}:${a.actions.join(",")}`)
            .join(" ")
          body.refresh_token = refresh
          send(200, body)
        }))
      return
    }
    send(405, errorBody("UNSUPPORTED", "method not allowed"), { Allow: "GET, POST" })
  }

  const server = yield* Effect.acquireRelease(
    Effect.async<http.Server, TestHarnessError.TestHarnessError>((resume) => {
      const server = tlsMaterial === undefined ? http.createServer(handler) : https.createServer(tlsMaterial, handler)
      server.keepAliveTimeout = 5_000
      server.once(
        "error",
        (error) => resume(Effect.fail(TestHarnessError.make("token server failed to listen", error)))
      )
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  const scheme = tlsMaterial === undefined ? "http" : "https"

  const instance: Instance = {
    url: `${scheme}://127.0.0.1:${port}${tokenPath}`,
    service,
    issuer,
    certPath,
    algorithm: setup.algorithm,
    keyId: setup.kid,
    stats: Effect.sync(() => ({ ...stats })),
    resetStats: Effect.sync(() => {
      stats = zeroStats()
      recorded.length = 0
    }),
    requests: Effect.sync(() => recorded.slice()),
    signToken: (claims) => Effect.sync(() => sign(claims).jwt)
  }
  return instance
}) as (options?: Options) => Effect.Effect<Instance, TestHarnessError.TestHarnessError, Scope.Scope>
