import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { TokenServer, Tools } from "../src/index.js"

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`

const get = (ts: TokenServer.Instance, params: Record<string, string | Array<string>>, auth?: string) => {
  const url = new URL(ts.url)
  for (const [k, v] of Object.entries(params)) for (const x of Array.isArray(v) ? v : [v]) url.searchParams.append(k, x)
  return Tools.request(url.toString(), auth === undefined ? {} : { headers: { authorization: auth } })
}

const post = (ts: TokenServer.Instance, form: Record<string, string>) =>
  Tools.request(ts.url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString()
  })

const claims = (jwt: string) =>
  JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as {
    aud: string
    sub: string
    exp: number
    iat: number
    access: Array<{ type: string; name: string; actions: Array<string> }>
  }

describe("TokenServer", () => {
  it.scopedLive("GET: token, access_token, expires_in, issued_at; grants per user", () =>
    Effect.gen(function*() {
      const ts = yield* TokenServer.start()
      const res = yield* get(ts, {
        service: ts.service,
        scope: ["repository:a/b:pull,push,delete", "registry:catalog:*"]
      }, basic("testuser", "testpassword"))
      assert.strictEqual(res.status, 200)
      const body = JSON.parse(res.text) as Record<string, unknown>
      assert.strictEqual(body.token, body.access_token)
      assert.strictEqual(body.expires_in, 300)
      assert.isString(body.issued_at)
      assert.isUndefined(body.refresh_token)
      const c = claims(body.token as string)
      assert.strictEqual(c.aud, "ocidist-test-registry")
      assert.strictEqual(c.sub, "testuser")
      assert.deepStrictEqual(c.access, [
        { type: "repository", name: "a/b", actions: ["pull", "push", "delete"] },
        { type: "registry", name: "catalog", actions: ["*"] }
      ])
      const header = JSON.parse(Buffer.from((body.token as string).split(".")[0]!, "base64url").toString()) as {
        alg: string
        kid: string
      }
      assert.strictEqual(header.alg, "RS256")
      assert.strictEqual(header.kid, ts.keyId)
      assert.match(ts.keyId, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/)

      const reader = yield* get(ts, { scope: "repository:a/b:pull,push" }, basic("reader", "readerpass"))
      assert.deepStrictEqual(claims((JSON.parse(reader.text) as { token: string }).token).access, [
        { type: "repository", name: "a/b", actions: ["pull"] }
      ])
      const anon = yield* get(ts, { scope: ["repository:a/b:pull", "repository:public/x:pull,push"] })
      assert.deepStrictEqual(claims((JSON.parse(anon.text) as { token: string }).token).access, [
        { type: "repository", name: "public/x", actions: ["pull"] }
      ])

      const offline = yield* get(
        ts,
        { scope: "repository:a:pull", offline_token: "true" },
        basic("testuser", "testpassword")
      )
      assert.isString((JSON.parse(offline.text) as { refresh_token: string }).refresh_token)

      const bad = yield* get(ts, { scope: "repository:a:pull" }, basic("testuser", "wrong"))
      assert.strictEqual(bad.status, 401)
      assert.match(bad.header("www-authenticate") ?? "", /^Basic realm=/)
      const unknown = yield* get(ts, { service: "other" })
      assert.strictEqual(unknown.status, 400)

      const stats = yield* ts.stats
      assert.deepStrictEqual(stats, {
        requests: 6,
        get: 6,
        post: 0,
        issued: 4,
        refreshIssued: 0,
        unauthorized: 1,
        badRequest: 1,
        notFound: 0
      })
      const requests = yield* ts.requests
      assert.deepStrictEqual(requests.map((r) => [r.username, r.hadBasicAuth, r.status]), [
        ["testuser", true, 200],
        ["reader", true, 200],
        [undefined, false, 200],
        ["testuser", true, 200],
        ["testuser", true, 401],
        [undefined, false, 400]
      ])
      assert.notInclude(JSON.stringify(requests), "testpassword")
      yield* ts.resetStats
      assert.strictEqual((yield* ts.stats).requests, 0)
      assert.strictEqual((yield* ts.requests).length, 0)
    }))

  it.scopedLive("POST oauth2: password and refresh_token grants", () =>
    Effect.gen(function*() {
      const ts = yield* TokenServer.start({ ttlSeconds: 60 })
      const res = yield* post(ts, {
        grant_type: "password",
        username: "testuser",
        password: "testpassword",
        client_id: "ocidist",
        service: ts.service,
        scope: "repository:a:pull,push repository:b:pull"
      })
      assert.strictEqual(res.status, 200)
      const body = JSON.parse(res.text) as Record<string, string | number>
      assert.strictEqual(body.token_type, "Bearer")
      assert.strictEqual(body.expires_in, 60)
      assert.strictEqual(body.scope, "repository:a:pull,push repository:b:pull")
      assert.isUndefined(body.token)
      const refreshed = yield* post(ts, {
        grant_type: "refresh_token",
        refresh_token: body.refresh_token as string,
        client_id: "ocidist",
        service: ts.service,
        scope: "repository:c:push"
      })
      assert.strictEqual(refreshed.status, 200)
      assert.deepStrictEqual(claims((JSON.parse(refreshed.text) as { access_token: string }).access_token).access, [
        { type: "repository", name: "c", actions: ["push"] }
      ])
      assert.strictEqual(
        (yield* post(ts, { grant_type: "password", username: "testuser", password: "x", client_id: "c" })).status,
        401
      )
      assert.strictEqual(
        (yield* post(ts, { grant_type: "refresh_token", refresh_token: "nope", client_id: "c" })).status,
        401
      )
      assert.strictEqual(
        (yield* post(ts, { grant_type: "password", username: "testuser", password: "testpassword" })).status,
        400
      )
      assert.strictEqual((yield* post(ts, { grant_type: "magic", client_id: "c" })).status, 400)
      const stats = yield* ts.stats
      assert.strictEqual(stats.post, 6)
      assert.strictEqual(stats.refreshIssued, 1)
      const recorded = yield* ts.requests
      assert.deepStrictEqual(recorded[0]!.scopes, ["repository:a:pull,push", "repository:b:pull"])
      assert.strictEqual(recorded[0]!.grantType, "password")
      assert.strictEqual(recorded[0]!.clientId, "ocidist")
    }))

  it.scopedLive("POST modes not-found and method-not-allowed; GET still works", () =>
    Effect.gen(function*() {
      const notFound = yield* TokenServer.start({ postMode: "not-found" })
      assert.strictEqual((yield* post(notFound, { grant_type: "password", client_id: "c" })).status, 404)
      assert.strictEqual((yield* get(notFound, { scope: "repository:public/a:pull" })).status, 200)
      const notAllowed = yield* TokenServer.start({ postMode: "method-not-allowed" })
      assert.strictEqual((yield* post(notAllowed, { grant_type: "password", client_id: "c" })).status, 405)
      assert.strictEqual((yield* notAllowed.stats).post, 1)
    }))

  it.scopedLive("responseField, issuedAt, anonymousTokens, delayMs, ES256", () =>
    Effect.gen(function*() {
      const onlyToken = yield* TokenServer.start({ responseField: "token", issuedAt: false })
      const a = JSON.parse((yield* get(onlyToken, {})).text) as Record<string, unknown>
      assert.deepStrictEqual(Object.keys(a).sort(), ["expires_in", "token"])
      const onlyAccess = yield* TokenServer.start({ responseField: "access_token", anonymousTokens: false })
      assert.strictEqual((yield* get(onlyAccess, {})).status, 401)
      const b = JSON.parse((yield* get(onlyAccess, {}, basic("reader", "readerpass"))).text) as Record<string, unknown>
      assert.deepStrictEqual(Object.keys(b).sort(), ["access_token", "expires_in", "issued_at"])
      const slow = yield* TokenServer.start({ delayMs: 150, signingKey: { algorithm: "ES256" } })
      const res = yield* get(slow, {})
      assert.strictEqual(res.status, 200)
      const header = JSON.parse(
        Buffer.from((JSON.parse(res.text) as { token: string }).token.split(".")[0]!, "base64url").toString()
      )
      assert.strictEqual(header.alg, "ES256")
    }))
})
