import { inspect } from 'node:util';

/**
 * Makes `util.inspect()` / `console.log()` of instances of `cls` print `summary(instance)` instead of their fields:
 * their options hold the broker password (and `credentials`), which must never reach a log.
 */
export function inspectAs<T>(cls: { prototype: T }, summary: (self: T) => string): void {
  Object.defineProperty(cls.prototype, inspect.custom, {
    value(this: T) {
      return summary(this);
    },
  });
}
