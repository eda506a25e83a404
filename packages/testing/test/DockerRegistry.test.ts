import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import { DockerRegistry, TokenServer, Tools } from "../src/index.js"

const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`

const bearerToken = (realm: string, service: string, scope: string, auth?: string) =>
  Effect.gen(function*() {
    const url = new URL(realm)
    url.searchParams.set("service", service)
    url.searchParams.set("scope", scope)
    const res = yield* Tools.request(url.toString(), auth === undefined ? {} : { headers: { authorization: auth } })
    return { status: res.status, token: res.status === 200 ? (JSON.parse(res.text) as { token: string }).token : "" }
  })

const parseChallenge = (header: string | undefined) => {
  const params: Record<string, string> = {}
  for (const m of (header ?? "").matchAll(/(\w+)="([^"]*)"/g)) params[m[1]!] = m[2]!
  return params
}

describe("DockerRegistry", () => {
  it.scopedLive("anon: GET /v2/ is 200 with Docker-Distribution-Api-Version", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start()
      assert.match(registry.host, /^127\.0\.0\.1:\d+$/)
      assert.strictEqual(registry.url, `http://${registry.host}`)
      const res = yield* Tools.request(`${registry.url}/v2/`)
      assert.strictEqual(res.status, 200)
      assert.strictEqual(res.header("docker-distribution-api-version"), "registry/2.0")
      assert.strictEqual(yield* registry.countRequests({ method: "GET", path: "/v2/" }), 1)
    }))

  it.scopedLive("basic: 401 without credentials, 200 with", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "basic" })
      const anon = yield* Tools.request(`${registry.url}/v2/`)
      assert.strictEqual(anon.status, 401)
      assert.match(anon.header("www-authenticate") ?? "", /^Basic realm="ocidist-basic-realm"/)
      const ok = yield* Tools.request(`${registry.url}/v2/`, {
        headers: { authorization: basic("testuser", "testpassword") }
      })
      assert.strictEqual(ok.status, 200)
      const wrong = yield* Tools.request(`${registry.url}/v2/`, {
        headers: { authorization: basic("testuser", "nope") }
      })
      assert.strictEqual(wrong.status, 401)
    }))

  it.scopedLive("token: challenge, full user, anonymous prefix, read-only user", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "token" })
      const ts = registry.tokenServer!
      const res = yield* Tools.request(`${registry.url}/v2/`)
      assert.strictEqual(res.status, 401)
      const challenge = parseChallenge(res.header("www-authenticate"))
      assert.strictEqual(challenge.realm, ts.url)
      assert.strictEqual(challenge.service, "ocidist-test-registry")

      const full = yield* bearerToken(
        ts.url,
        ts.service,
        "repository:private/app:pull",
        basic("testuser", "testpassword")
      )
      assert.strictEqual(full.status, 200)
      const tags = yield* Tools.request(`${registry.url}/v2/private/app/tags/list`, {
        headers: { authorization: `Bearer ${full.token}` }
      })
      // the registry accepted the JWT: the repository simply does not exist yet
      assert.strictEqual(tags.status, 404)
      assert.include(tags.text, "NAME_UNKNOWN")

      const anonPublic = yield* bearerToken(ts.url, ts.service, "repository:public/app:pull")
      const anonTags = yield* Tools.request(`${registry.url}/v2/public/app/tags/list`, {
        headers: { authorization: `Bearer ${anonPublic.token}` }
      })
      assert.strictEqual(anonTags.status, 404)
      const anonPrivate = yield* bearerToken(ts.url, ts.service, "repository:private/app:pull")
      const denied = yield* Tools.request(`${registry.url}/v2/private/app/tags/list`, {
        headers: { authorization: `Bearer ${anonPrivate.token}` }
      })
      assert.strictEqual(denied.status, 401)

      const reader = yield* bearerToken(
        ts.url,
        ts.service,
        "repository:private/app:pull,push",
        basic("reader", "readerpass")
      )
      const upload = yield* Tools.request(`${registry.url}/v2/private/app/blobs/uploads/`, {
        method: "POST",
        headers: { authorization: `Bearer ${reader.token}` }
      })
      assert.strictEqual(upload.status, 401)
      const requests = yield* ts.requests
      const readerRequest = requests.find((r) => r.username === "reader")
      assert.deepStrictEqual(readerRequest?.granted, [{ type: "repository", name: "private/app", actions: ["pull"] }])

      const writer = yield* bearerToken(
        ts.url,
        ts.service,
        "repository:private/app:pull,push",
        basic("testuser", "testpassword")
      )
      const upload2 = yield* Tools.request(`${registry.url}/v2/private/app/blobs/uploads/`, {
        method: "POST",
        headers: { authorization: `Bearer ${writer.token}` }
      })
      assert.strictEqual(upload2.status, 202)
    }))

  it.scopedLive("token: ES256 with x5c, anonymous tokens off", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({
        mode: "token",
        anonymousTokens: false,
        tokenServer: { signingKey: { algorithm: "ES256" }, headerMode: "x5c" }
      })
      const ts = registry.tokenServer!
      assert.strictEqual(ts.algorithm, "ES256")
      const anon = yield* bearerToken(ts.url, ts.service, "repository:public/app:pull")
      assert.strictEqual(anon.status, 401)
      const full = yield* bearerToken(ts.url, ts.service, "repository:x:pull", basic("testuser", "testpassword"))
      const res = yield* Tools.request(`${registry.url}/v2/x/tags/list`, {
        headers: { authorization: `Bearer ${full.token}` }
      })
      assert.strictEqual(res.status, 404)
    }))

  it.scopedLive("token: foreign-key, expired and wrong-audience tokens are refused", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "token" })
      const ts = registry.tokenServer!
      const foreign = yield* TokenServer.start({ signingKey: { algorithm: "ES256", unique: true } })
      const access = [{ type: "repository", name: "x", actions: ["pull"] }]
      const tryToken = (token: string) =>
        Effect.map(
          Tools.request(`${registry.url}/v2/x/tags/list`, { headers: { authorization: `Bearer ${token}` } }),
          (res) => res.status
        )
      assert.strictEqual(yield* tryToken(yield* ts.signToken({ access })), 404)
      assert.strictEqual(yield* tryToken(yield* foreign.signToken({ access })), 401)
      assert.strictEqual(yield* tryToken(yield* ts.signToken({ access, expiresInSeconds: -60 })), 401)
      assert.strictEqual(yield* tryToken(yield* ts.signToken({ access, audience: "elsewhere" })), 401)
    }))

  it.scopedLive("tls: https with the CA certificate", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ tls: true })
      assert.strictEqual(registry.url, `https://${registry.host}`)
      assert.isDefined(registry.caCertPath)
      const res = yield* Tools.request(`${registry.url}/v2/`, { ca: registry.caCert! })
      assert.strictEqual(res.status, 200)
      const localhost = yield* Tools.request(`https://localhost:${registry.port}/v2/`, { ca: registry.caCert! })
      assert.strictEqual(localhost.status, 200)
      const untrusted = yield* Effect.flip(Tools.request(`${registry.url}/v2/`))
      assert.strictEqual(untrusted._tag, "TestHarnessError")
    }))

  it.scopedLive("token + tls: the token server is https too", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "token", tls: true })
      const ts = registry.tokenServer!
      assert.match(ts.url, /^https:/)
      const url = `${ts.url}?service=${ts.service}&scope=repository:a:pull`
      const res = yield* Tools.request(url, {
        ca: registry.caCert!,
        headers: { authorization: basic("testuser", "testpassword") }
      })
      assert.strictEqual(res.status, 200)
      const { token } = JSON.parse(res.text) as { token: string }
      const tags = yield* Tools.request(`${registry.url}/v2/a/tags/list`, {
        ca: registry.caCert!,
        headers: { authorization: `Bearer ${token}` }
      })
      assert.strictEqual(tags.status, 404)
    }))

  it.live("the process is gone and the dir removed when the scope closes", () =>
    Effect.gen(function*() {
      const registry = yield* Effect.scoped(DockerRegistry.start({ mode: "basic" }))
      const survivors = fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes(registry.dir)
        } catch {
          return false
        }
      })
      assert.deepStrictEqual(survivors, [])
      assert.isFalse(fs.existsSync(registry.dir))
      const res = yield* Effect.either(Tools.request(`${registry.url}/v2/`))
      assert.strictEqual(res._tag, "Left")
    }))

  it.scopedLive("a registry that cannot start fails with the tail of its log", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(DockerRegistry.start({ logLevel: "chatty" as never }))
      assert.strictEqual(error._tag, "TestHarnessError")
      assert.match(error.message, /docker-registry exited with 1 before it was ready/)
      assert.include(error.message, "chatty")
    }))

  it.scopedLive("many instances start in parallel", () =>
    Effect.gen(function*() {
      const instances = yield* Effect.all(Array.from({ length: 6 }, () => DockerRegistry.start()), { concurrency: 6 })
      assert.strictEqual(new Set(instances.map((i) => i.port)).size, 6)
      console.log("startup ms:", instances.map((i) => i.startupMs).join(", "))
    }))
})

describe("under the TestClock", () => {
  it.scoped("start does not depend on the clock (it.scoped)", () =>
    Effect.gen(function*() {
      const registry = yield* DockerRegistry.start({ mode: "token" })
      assert.strictEqual(yield* registry.countRequests({}), 0)
    }))
})
