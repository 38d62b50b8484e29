// A TCP relay on 127.0.0.1 that delays every chunk by the same time each way, so a local
// Postgres answers like one a network away (order is kept: equal timers fire in order).
// node bench/_delay-proxy.mjs <target-port> <one-way-ms>; prints the port it listens on and exits
// when its stdin ends (the bench that started it is gone).
import net from 'node:net'

const [target, delay] = process.argv.slice(2).map(Number)
// Half-closes are passed on as they come (allowHalfOpen); a reader that falls behind pauses
// its writer once the delayed writes stop fitting.
const relay = (from, to) => {
  from.on('data', chunk =>
    setTimeout(() => {
      if (!to.write(chunk)) {
        from.pause()
        to.once('drain', () => from.resume())
      }
    }, delay)
  )
  from.on('end', () => setTimeout(() => to.end(), delay))
  from.on('error', () => to.destroy())
}
const server = net.createServer({ allowHalfOpen: true }, client => {
  const upstream = net.connect({ port: target, host: '127.0.0.1', allowHalfOpen: true })
  client.setNoDelay(true)
  upstream.setNoDelay(true)
  relay(client, upstream)
  relay(upstream, client)
})
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
process.stdin.on('end', () => process.exit(0)).resume()
