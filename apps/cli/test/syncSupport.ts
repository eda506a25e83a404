// Helpers of the `ocidist sync` subprocess tests (sync.test.ts, sync-cli.test.ts): a counting proxy in front of
// a registry, digests through the CLI, and a run killed with SIGKILL at a request the proxy holds.
import * as http from "node:http"
import type * as net from "node:net"
import { collect, ocidist, type Result, start } from "./cli.js"

/** A proxy in front of a registry: `METHOD path` of each request, in order; a request `hold` accepts is never answered. */
export interface Proxy {
  host: string
  requests: Array<string>
  hold: ((url: string) => boolean) | undefined
  close: () => void
}

/** Forwards to `upstream`, recording `METHOD path` of each request; a request `hold` accepts is never answered. */
export const startProxy = (upstream: string): Promise<Proxy> =>
  new Promise((resolve) => {
    const [upHost, upPort] = upstream.split(":")
    const state: Proxy = { host: "", requests: [], hold: undefined, close: () => undefined }
    const server = http.createServer((req, res) => {
      state.requests.push(`${req.method} ${req.url}`)
      if (state.hold?.(req.url ?? "") === true) return
      const forwarded = http.request(
        { host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers)
          answer.pipe(res)
        }
      )
      forwarded.on("error", () => res.destroy())
      req.pipe(forwarded)
    })
    const sockets = new Set<net.Socket>()
    server.on("connection", (s) => {
      sockets.add(s)
      s.on("close", () => sockets.delete(s))
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as net.AddressInfo
      state.host = `127.0.0.1:${address.port}`
      state.close = () => {
        for (const s of sockets) s.destroy()
        server.close()
      }
      resolve(state)
    })
  })

/** The digest `reference` resolves to (`ocidist digest`), `undefined` when it does not resolve. */
export const digest = async (reference: string) => {
  const r = await ocidist(["digest", reference])
  return r.code === 0 ? r.stdout.trim() : undefined
}

/**
 * Runs `ocidist <args>` and kills it with SIGKILL at the first request whose path starts with `held` (the proxy
 * holds it: never answered); the proxy holds nothing afterwards.
 */
export const killAtRequest = async (proxy: Proxy, held: string, args: ReadonlyArray<string>): Promise<Result> => {
  let reached: () => void = () => undefined
  const copying = new Promise<void>((resolve) => (reached = resolve))
  proxy.hold = (url) => {
    if (!url.startsWith(held)) return false
    reached()
    return true
  }
  const child = start(args)
  const done = collect(child)
  await copying
  child.kill("SIGKILL")
  const killed = await done
  proxy.hold = undefined
  return killed
}
