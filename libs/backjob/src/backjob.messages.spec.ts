import {
  BadRequestException,
  ForbiddenException,
  HttpException,
} from '@nestjs/common';
import { answeredMessage, describeError } from './backjob.messages.js';

describe('describeError', () => {
  it('keeps a string, and says what a throw without a value was', () => {
    expect(describeError('disk full')).toBe('disk full');
    expect(describeError(undefined)).toBe(
      'undefined (a throw without an error)',
    );
  });

  it('inspects a plain object a few levels deep instead of [object Object]', () => {
    expect(describeError({ code: 42, detail: { a: { b: { c: 1 } } } })).toBe(
      '{ code: 42, detail: { a: { b: [Object] } } }',
    );
  });

  it("follows an Error's causes, with their codes, but never its other properties", () => {
    const driver = Object.assign(new Error('packet too big'), {
      code: 'ER_NET_PACKET_TOO_LARGE',
      parameters: ['secret output'],
    });
    const error = new Error('saving failed', { cause: driver });
    expect(describeError(error)).toBe(
      'saving failed, caused by: packet too big (ER_NET_PACKET_TOO_LARGE)',
    );
  });

  it('lists the errors of an AggregateError, and stops following an endless chain', () => {
    expect(
      describeError(new AggregateError([new Error('a'), 'b'], 'both failed')),
    ).toBe('both failed: a; b');
    const loop = new Error('loop');
    loop.cause = loop;
    expect(describeError(loop)).toMatch(
      /^(loop, caused by: ){5}loop, caused by more errors$/,
    );
  });

  it("reads an HttpException's own answer: a validation pipe's field messages", () => {
    expect(
      describeError(new BadRequestException(['name is empty', 'age < 0'])),
    ).toBe('Bad Request: name is empty; age < 0');
    expect(describeError(new ForbiddenException('No token'))).toBe('No token');
    expect(describeError(new HttpException({ code: 7 }, 418))).toBe(
      'Http Exception',
    );
  });

  it('cuts a very long reason', () => {
    expect(describeError('x'.repeat(5000))).toHaveLength(2001);
  });
});

describe('answeredMessage', () => {
  it("reads Nest's answer to an error as the sentence of its exception", () => {
    const validation = JSON.stringify({
      message: ['name should not be empty', 'email must be an email'],
      error: 'Bad Request',
      statusCode: 400,
    });
    expect(answeredMessage(400, validation)).toBe(
      'it was answered 400: Bad Request: name should not be empty; email must be an email',
    );
    expect(
      answeredMessage(
        500,
        '{"statusCode":500,"message":"Internal server error"}',
      ),
    ).toBe('it was answered 500: Internal server error');
  });

  it('shows any other answer as it came, cut at 2,000 characters', () => {
    expect(answeredMessage(500, '{"error":"Something went wrong"}')).toBe(
      'it was answered 500: {"error":"Something went wrong"}',
    );
    expect(answeredMessage(502, 'x'.repeat(3000))).toHaveLength(
      'it was answered 502: '.length + 2000,
    );
    expect(answeredMessage(204, '')).toBe('it was answered 204');
  });
});
