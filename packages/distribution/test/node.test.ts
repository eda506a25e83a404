import { assert, layer } from "@effect/vitest"
import { DockerRegistry } from "@ocidist/testing"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as net from "node:net"
import * as NodeRegistryClient from "../src/NodeRegistryClient.js"
import * as RegistryClient from "../src/RegistryClient.js"

class Tls extends Context.Tag("Tls")<Tls, DockerRegistry.Instance>() {}

const TlsRegistry = Layer.scoped(Tls, Effect.orDie(DockerRegistry.start({ mode: "anon", tls: true })))

/** The Node client (undici dispatchers per registry) with the real auth layers, built in the test scope. */
const nodeClient = (options: RegistryClient.Options) =>
  Layer.build(NodeRegistryClient.layer(options)).pipe(
    Effect.map(Context.get(RegistryClient.RegistryClient)),
    // the default credentials chain reads this provider: no credentials, no config files
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
  )

/** A CONNECT proxy on loopback that records the targets it tunnels to. */
const connectProxy = Effect.acquireRelease(
  Effect.async<{ server: http.Server; url: string; targets: Array<string> }>((resume) => {
    const targets: Array<string> = []
    const server = http.createServer((_req, res) => {
      res.writeHead(405)
      res.end()
    })
    server.on("connect", (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      targets.push(req.url ?? "")
      const [host, port] = (req.url ?? "").split(":")
      const upstream = net.connect(Number(port), host!, () => {
        socket.write("HTTP/1.1 200 Connection Established\r\n\r\n")
        upstream.write(head)
        upstream.pipe(socket)
        socket.pipe(upstream)
      })
      upstream.on("error", () => socket.destroy())
      socket.on("error", () => upstream.destroy())
    })
    server.listen(
      0,
      "127.0.0.1",
      () =>
        resume(Effect.succeed({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, targets }))
    )
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.closeAllConnections()
      server.close(() => resume(Effect.void))
    })
)

const withEnv = <A, E, R>(vars: Record<string, string | undefined>, effect: Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const saved: Record<string, string | undefined> = {}
      for (const [k, v] of Object.entries(vars)) {
        saved[k] = process.env[k]
        if (v === undefined) delete process.env[k]
        else process.env[k] = v
      }
      return saved
    }),
    () => effect,
    (saved) =>
      Effect.sync(() => {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k]
          else process.env[k] = v
        }
      })
  )

const noProxy = { HTTPS_PROXY: undefined, https_proxy: undefined, HTTP_PROXY: undefined, http_proxy: undefined }

layer(TlsRegistry, { timeout: 60_000, excludeTestServices: true })("NodeRegistryClient (TLS registry)", (it) => {
  it.scoped("verifies certificates: fails without the CA, works with `ca` or `insecure`", () =>
    Effect.gen(function*() {
      const registry = yield* Tls
      const host = registry.host
      yield* withEnv(
        noProxy,
        Effect.gen(function*() {
          const strict = yield* nodeClient({ retry: { times: 0 }, registries: { [host]: { plainHttp: false } } })
          const error = yield* Effect.flip(strict.ping(host))
          assert.strictEqual(error._tag, "TransportError")
          assert.match(error.message, /certificate|self[- ]signed|CERT/i)

          const withCa = yield* nodeClient({ registries: { [host]: { plainHttp: false, ca: registry.caCert! } } })
          assert.strictEqual((yield* withCa.ping(host)).status, 200)

          const insecure = yield* nodeClient({ registries: { [host]: { plainHttp: false, insecure: true } } })
          assert.strictEqual((yield* insecure.ping(host)).status, 200)
        })
      )
    }))

  it.scoped("tunnels through HTTPS_PROXY, and not for hosts in NO_PROXY", () =>
    Effect.gen(function*() {
      const registry = yield* Tls
      const host = registry.host
      const proxy = yield* connectProxy
      const options = { registries: { [host]: { plainHttp: false, ca: registry.caCert! } } }
      yield* withEnv(
        { ...noProxy, HTTPS_PROXY: proxy.url, NO_PROXY: undefined, no_proxy: undefined },
        Effect.gen(function*() {
          const viaProxy = yield* nodeClient(options)
          assert.strictEqual((yield* viaProxy.ping(host)).status, 200)
        })
      )
      assert.deepStrictEqual(proxy.targets, [host])
      yield* withEnv(
        { ...noProxy, HTTPS_PROXY: proxy.url, NO_PROXY: "127.0.0.1", no_proxy: undefined },
        Effect.gen(function*() {
          const direct = yield* nodeClient(options)
          assert.strictEqual((yield* direct.ping(host)).status, 200)
        })
      )
      assert.strictEqual(proxy.targets.length, 1)
    }))
})

layer(TlsRegistry, { timeout: 60_000, excludeTestServices: true })("NodeRegistryClient.makeHttpClient", (it) => {
  it.scoped("follows the registry options, and closing its scope closes its connections", () =>
    Effect.gen(function*() {
      const registry = yield* Tls
      const host = registry.host
      // A loopback server that counts open connections, next to the TLS registry.
      const open = new Set<net.Socket>()
      const server = yield* Effect.acquireRelease(
        Effect.async<http.Server>((resume) => {
          const s = http.createServer((_req, res) => {
            res.end("ok")
          })
          s.on("connection", (socket: net.Socket) => {
            open.add(socket)
            socket.on("close", () => open.delete(socket))
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
        }),
        (s) =>
          Effect.async<void>((resume) => {
            s.close(() => resume(Effect.void))
          })
      )
      const local = `127.0.0.1:${(server.address() as AddressInfo).port}`
      yield* withEnv(
        noProxy,
        Effect.gen(function*() {
          const options = { registries: { [host]: { plainHttp: false, ca: registry.caCert! } } }
          const scope = yield* Scope.make()
          const client = yield* Scope.extend(NodeRegistryClient.makeHttpClient(options), scope)
          // the extra CA of the registry options is used for the TLS registry
          const ping = yield* client.get(`https://${host}/v2/`)
          assert.strictEqual(ping.status, 200)
          const response = yield* client.get(`http://${local}/`)
          assert.strictEqual(yield* response.text, "ok")
          assert.strictEqual(open.size, 1) // kept alive
          yield* Scope.close(scope, Exit.void)
          // the server sees the socket close once the FIN arrives: wait for it (bounded)
          for (let i = 0; i < 100 && open.size > 0; i++) yield* Effect.sleep("20 millis")
          assert.strictEqual(open.size, 0)
          // a scope of its own: the same client without the CA refuses the self-signed certificate
          const strict = yield* NodeRegistryClient.makeHttpClient({ registries: { [host]: { plainHttp: false } } })
          const error = yield* Effect.flip(strict.get(`https://${host}/v2/`))
          assert.strictEqual(error._tag, "RequestError")
          assert.match(String(error.cause), /certificate|self[- ]signed|CERT/i)
        })
      )
    }))
})
