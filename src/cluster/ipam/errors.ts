// Allocator failures, with the texts upstream's ipallocator and portallocator return.

export type AllocationErrorCode = 'Allocated' | 'NotInRange' | 'Full' | 'Invalid';

export class AllocationError extends Error {
  constructor(
    readonly code: AllocationErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AllocationError';
  }
}
