// Types of switchboard-client (the JavaScript sources carry the same as JSDoc).

export type State = "disconnected" | "connecting" | "connected";
export type SubscriptionState = "unsubscribed" | "subscribing" | "subscribed";

/** Time and timers; tests inject a virtual clock. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface Options {
  /** Called before connecting, before the token's `exp`, after a refused upgrade and after close 4001. */
  getToken?: () => string | Promise<string>;
  /** Milliseconds, default 500. */
  minReconnectDelay?: number;
  /** Milliseconds, default 20000. */
  maxReconnectDelay?: number;
  /** Milliseconds for a command's answer, the welcome and getToken(), default 5000. */
  timeout?: number;
  /** Milliseconds a ping (or a probe's answer) may be late, default 10000. */
  maxPingDelay?: number;
  /** A WebSocket constructor: in Node `ws`'s (`import WebSocket from "ws"`). */
  websocket?: unknown;
  clock?: Clock;
  /** Uniform in [0, 1). */
  random?: () => number;
}

export interface ClientEvents {
  connecting: { attempt: number };
  connected: { id: number; ping?: number };
  disconnected: { code: number; reason: string; reconnect: boolean };
  error: Error;
  direct: { from: number | string; data: unknown };
}

export interface SubscriptionEvents {
  subscribing: { reason: string };
  subscribed: { recovering: boolean; recovered: boolean; offset?: number; epoch?: string };
  message: { data: unknown; offset?: number };
  join: { id: number; user?: string };
  leave: { id: number; user?: string };
  error: SwitchboardError;
  unsubscribed: { code?: string; reason?: string };
}

declare class Emitter<Events> {
  on<K extends keyof Events>(event: K, handler: (arg: Events[K]) => void): this;
  off<K extends keyof Events>(event: K, handler: (arg: Events[K]) => void): this;
  once<K extends keyof Events>(event: K, handler: (arg: Events[K]) => void): this;
}

export class Switchboard extends Emitter<ClientEvents> {
  constructor(url: string, options?: Options);
  readonly state: State;
  /** The welcome's connection id; null unless connected. */
  readonly id: number | null;
  connect(): void;
  disconnect(): void;
  subscribe(topic: string, options?: { joinLeave?: boolean }): Subscription;
  getSubscription(topic: string): Subscription | undefined;
  publish(topic: string, data: unknown): Promise<void>;
  send(to: number | `user:${string}`, data: unknown): Promise<void>;
  presence(topic: string): Promise<{ clients: { id: number; user?: string }[]; truncated: boolean }>;
  presenceStats(topic: string): Promise<{ clients: number; users: number }>;
  history(
    topic: string,
    options?: { limit?: number; since?: { offset: number; epoch: string } }
  ): Promise<{ epoch: string; offset: number; messages: { offset: number; data: unknown }[] }>;
}

export class Subscription extends Emitter<SubscriptionEvents> {
  readonly topic: string;
  readonly state: SubscriptionState;
  /** The last offset delivered and its epoch (topics with history), else null. */
  readonly position: { offset: number; epoch: string } | null;
  subscribe(): void;
  unsubscribe(): void;
}

export class SwitchboardError extends Error {
  constructor(code: string, reason?: string);
  /** The node's error code, or timeout, disconnected, no_token, bad_json. */
  readonly code: string;
  readonly reason: string;
}

export const LOCAL_CODES: Readonly<{ NO_PING: 1; CONNECT_TIMEOUT: 2; NO_TOKEN: 3 }>;
export function reconnects(code: number): boolean;
export function backoffDelay(attempt: number, min: number, max: number, random: () => number): number;
