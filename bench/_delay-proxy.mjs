// A TCP relay on 127.0.0.1 that delays every chunk by the same time each way, so a local
// Postgres answers like one a network away (order is kept: equal timers fire in order).
// node bench/_delay-proxy.mjs <target-port> <one-way-ms>; prints the port it listens on.
import net from 'node:net'

const [target, delay] = process.argv.slice(2).map(Number)
const relay = (from, to) => {
  from.on('data', chunk => setTimeout(() => to.write(chunk), delay))
  from.on('end', () => setTimeout(() => to.end(), delay))
  from.on('error', () => to.destroy())
}
const server = net.createServer(client => {
  const upstream = net.connect(target, '127.0.0.1')
  client.setNoDelay(true)
  upstream.setNoDelay(true)
  relay(client, upstream)
  relay(upstream, client)
})
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
