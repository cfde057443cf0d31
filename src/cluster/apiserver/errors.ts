// The API server's validation error text: `Service "web" is invalid: <field>: <type>: <value>: <detail>`.
import { ApiError } from '../store.js';

/** field.Invalid: the value is quoted when it is a string, as Go's %q-like rendering does. */
export function invalid(kind: string, name: string, field: string, value: unknown, detail: string): ApiError {
  return new ApiError('Invalid', `${kind} "${name}" is invalid: ${field}: Invalid value: ${render(value)}: ${detail}`, field);
}

/** field.Duplicate */
export function duplicate(kind: string, name: string, field: string, value: unknown): ApiError {
  return new ApiError('Invalid', `${kind} "${name}" is invalid: ${field}: Duplicate value: ${render(value)}`, field);
}

/** field.Forbidden */
export function forbidden(kind: string, name: string, field: string, detail: string): ApiError {
  return new ApiError('Invalid', `${kind} "${name}" is invalid: ${field}: Forbidden: ${detail}`, field);
}

/** An internal error (upstream's 500), e.g. a full allocation range. */
export function internal(message: string, field?: string): ApiError {
  return new ApiError('Invalid', `Internal error occurred: ${message}`, field);
}

function render(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}
