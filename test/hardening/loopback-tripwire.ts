/**
 * A safety net for the hardening tests: every outgoing TCP connection of this process must go
 * to 127.0.0.1. The SSRF tests feed the guard made-up names that resolve to private and
 * metadata addresses; if the guard ever let one through, the socket would connect there. The
 * tripwire refuses such a connection before the connect system call and records it, so a
 * broken guard fails a test instead of reaching another machine.
 *
 * It wraps `net.Socket.prototype.connect` (TLS sockets inherit it): a literal address is
 * judged at once; for a name, the socket's own lookup function is wrapped, so whatever it
 * resolves to (one address or several, for happy eyeballs) is judged before net connects.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, Socket } from 'node:net';

/** A connection the tripwire refused. */
export interface StoppedConnection {
  readonly host: string;
  readonly address: string;
}

export interface Tripwire {
  /** Connections refused because their address was not allowed. */
  readonly stopped: StoppedConnection[];
  /** Every address a socket of this process was about to connect to, allowed or not. */
  readonly attempted: string[];
  uninstall(): void;
}

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;
type LookupFunction = (hostname: string, options: object, callback: LookupCallback) => void;

interface ConnectOptions {
  host?: string;
  path?: string | null;
  lookup?: LookupFunction;
}

let installed = false;

/**
 * Installs the tripwire until `uninstall()`. Only one may be installed at a time.
 *
 * @param allowed - addresses a connection may go to (default: 127.0.0.1 only)
 */
export function installLoopbackTripwire(allowed: readonly string[] = ['127.0.0.1']): Tripwire {
  if (installed) throw new Error('a loopback tripwire is already installed');
  installed = true;
  const allow = new Set(allowed);
  const stopped: StoppedConnection[] = [];
  const attempted: string[] = [];
  const original = Socket.prototype.connect as (this: Socket, ...args: unknown[]) => Socket;
  const refusal = (host: string, address: string): Error => {
    stopped.push({ host, address });
    return new Error(`loopback tripwire: refused a connection to ${address} (${host})`);
  };

  Socket.prototype.connect = function guardedConnect(this: Socket, ...args: unknown[]): Socket {
    // net.connect() passes [options, listener] as one normalised array; sockets also take (options).
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (first === null || typeof first !== 'object') {
      // connect(port, host) or connect(path): nothing in this code base uses them; refuse loudly.
      throw new Error('loopback tripwire: only connect(options) is supported under test');
    }
    const options = first as ConnectOptions;
    // http passes `path: null` for TCP; only a string is a Unix socket path.
    if (typeof options.path === 'string') return original.apply(this, args);
    const host = options.host ?? 'localhost';
    if (isIP(host)) {
      attempted.push(host);
      if (!allow.has(host)) {
        const error = refusal(host, host);
        // Never connect; fail the socket once its owner listens for errors.
        process.nextTick(() => this.destroy(error));
        return this;
      }
      return original.apply(this, args);
    }
    const inner: LookupFunction = options.lookup ?? (dnsLookup as unknown as LookupFunction);
    options.lookup = (hostname, lookupOptions, callback) => {
      inner(hostname, lookupOptions, (error, address, family) => {
        if (error) return callback(error, address, family);
        const addresses = Array.isArray(address) ? address.map((answer) => answer.address) : [address];
        attempted.push(...addresses);
        const bad = addresses.find((candidate) => !allow.has(candidate));
        if (bad !== undefined) return callback(refusal(hostname, bad), '');
        return callback(null, address, family);
      });
    };
    return original.apply(this, args);
  } as typeof Socket.prototype.connect;

  return {
    stopped,
    attempted,
    uninstall: () => {
      Socket.prototype.connect = original as typeof Socket.prototype.connect;
      installed = false;
    },
  };
}
