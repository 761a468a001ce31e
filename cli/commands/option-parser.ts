/**
 * Turns a plain parser (which throws an Error with the reason) into a commander option
 * parser, so a bad value is reported as a usage error naming the option.
 */
import { InvalidArgumentError } from 'commander';

export function optionParser<T>(parse: (raw: string) => T): (raw: string) => T {
  return (raw: string) => {
    try {
      return parse(raw);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}
