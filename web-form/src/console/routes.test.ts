import { describe, expect, it } from 'vitest';
import { filtersFromQuery, filtersToQuery, NO_FILTERS, parseConsoleHash, queueHash, ticketHash } from './routes';

describe('queue filters → query string', () => {
  it('is empty without filters', () => {
    expect(filtersToQuery(NO_FILTERS)).toBe('');
  });
  it("names each filter set, in the API's terms", () => {
    expect(
      filtersToQuery({ status: 'escalated', channel: 'whatsapp', reason: 'refund', sla: 'at_risk', older_than: '45' }),
    ).toBe('?status=escalated&channel=whatsapp&reason=refund&sla=at_risk&older_than=45');
    expect(filtersToQuery({ ...NO_FILTERS, channel: 'web_form' })).toBe('?channel=web_form');
  });
  it('leaves out what the API would refuse', () => {
    expect(filtersToQuery({ ...NO_FILTERS, status: 'closed', older_than: '-5' })).toBe('');
    expect(filtersToQuery({ ...NO_FILTERS, older_than: '1.5' })).toBe('');
    expect(filtersToQuery({ ...NO_FILTERS, older_than: ' 007 ' })).toBe('?older_than=7');
  });
  it('round-trips through the hash', () => {
    const filters = { ...NO_FILTERS, sla: 'breached', older_than: '30' };
    expect(filtersFromQuery(filtersToQuery(filters))).toEqual(filters);
    expect(parseConsoleHash(queueHash(filters))).toEqual({ view: 'queue', filters });
  });
  it('drops unknown values from a hand-edited hash', () => {
    expect(filtersFromQuery('status=nope&channel=email&older_than=soon')).toEqual({ ...NO_FILTERS, channel: 'email' });
  });
});

describe('console routes', () => {
  it('parses the queue, a ticket and the reviews', () => {
    expect(parseConsoleHash('')).toEqual({ view: 'queue', filters: NO_FILTERS });
    expect(parseConsoleHash('#/')).toEqual({ view: 'queue', filters: NO_FILTERS });
    expect(parseConsoleHash('#/tickets/tkt_1')).toEqual({ view: 'ticket', id: 'tkt_1' });
    expect(parseConsoleHash('#/reviews')).toEqual({ view: 'reviews' });
    expect(parseConsoleHash('#/nowhere')).toEqual({ view: 'queue', filters: NO_FILTERS });
  });
  it('encodes ticket ids', () => {
    expect(ticketHash('a b/c')).toBe('#/tickets/a%20b%2Fc');
    expect(parseConsoleHash(ticketHash('a b/c'))).toEqual({ view: 'ticket', id: 'a b/c' });
  });
});
