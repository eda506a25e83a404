// The scheme of a loopback registry without `plainHttp`: HTTPS first, plain HTTP when the server speaks it.
import { assert, layer } from "@effect/vitest"
import { DockerRegistry } from "@ocidist/testing"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as NodeRegistryClient from "../src/NodeRegistryClient.js"
import * as RegistryClient from "../src/RegistryClient.js"

class Tls extends Context.Tag("Tls")<Tls, DockerRegistry.Instance>() {}

const TlsRegistry = Layer.scoped(Tls, Effect.orDie(DockerRegistry.start({ mode: "anon", tls: true })))

const nodeClient = (options: RegistryClient.Options) =>
  Layer.build(NodeRegistryClient.layer(options)).pipe(
    Effect.map(Context.get(RegistryClient.RegistryClient)),
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
  )

/** A plain-HTTP `/v2/` on loopback that records the requests it parsed and counts the TLS attempts. */
const plainServer = Effect.acquireRelease(
  Effect.async<{ server: http.Server; host: string; requests: Array<string>; handshakes: { count: number } }>(
    (resume) => {
      const requests: Array<string> = []
      const handshakes = { count: 0 }
      const server = http.createServer((req, res) => {
        requests.push(`${req.method} ${req.url}`)
        res.writeHead(200, { "docker-distribution-api-version": "registry/2.0", "content-length": "2" })
        res.end("{}")
      })
      // a TLS ClientHello is no HTTP request: the parser rejects it
      server.on("clientError", (_error, socket) => {
        handshakes.count++
        socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")
      })
      server.listen(0, "127.0.0.1", () =>
        resume(Effect.succeed({
          server,
          host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
          requests,
          handshakes
        })))
    }
  ),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

layer(TlsRegistry, { timeout: 60_000, excludeTestServices: true })("loopback registries: HTTPS first", (it) => {
  it.scoped("reaches a TLS registry on 127.0.0.1 without any scheme option", () =>
    Effect.gen(function*() {
      const registry = yield* Tls
      const insecure = yield* nodeClient({ insecure: true })
      assert.strictEqual((yield* insecure.ping(registry.host)).status, 200)
      const withCa = yield* nodeClient({ ca: registry.caCert! })
      assert.strictEqual((yield* withCa.ping(registry.host)).status, 200)
      // the certificate is still verified: a TLS failure is not a reason to fall back to plain HTTP
      const strict = yield* nodeClient({ retry: { times: 0 } })
      const error = yield* Effect.flip(strict.ping(registry.host))
      assert.strictEqual(error._tag, "TransportError")
      assert.match(error.message, /https:\/\/127\.0\.0\.1.*(certificate|self[- ]signed|CERT)/i)
    }))

  it.scoped("falls back to plain HTTP once, for the client's lifetime", () =>
    Effect.gen(function*() {
      const plain = yield* plainServer
      const client = yield* nodeClient({})
      assert.strictEqual((yield* client.ping(plain.host)).status, 200)
      assert.strictEqual((yield* client.ping(plain.host)).status, 200)
      // remembered: one TLS attempt for the client's lifetime
      assert.strictEqual(plain.handshakes.count, 1)
      // first requests at once: one tries HTTPS, the others wait for its answer
      const other = yield* nodeClient({})
      const pings = yield* Effect.all(Array.from({ length: 5 }, () => other.ping(plain.host)), { concurrency: 5 })
      assert.deepStrictEqual(pings.map((p) => p.status), [200, 200, 200, 200, 200])
      assert.strictEqual(plain.handshakes.count, 2)
      // the TLS handshake is no HTTP request; every ping arrived over http://
      assert.deepStrictEqual(plain.requests, Array.from({ length: 7 }, () => "GET /v2/"))
    }))

  it.scoped("an explicit plainHttp: false never falls back", () =>
    Effect.gen(function*() {
      const plain = yield* plainServer
      const client = yield* nodeClient({ retry: { times: 0 }, registries: { [plain.host]: { plainHttp: false } } })
      const error = yield* Effect.flip(client.ping(plain.host))
      assert.strictEqual(error._tag, "TransportError")
      assert.match(error.message, /https:\/\//)
      assert.deepStrictEqual(plain.requests, [])
    }))
})
