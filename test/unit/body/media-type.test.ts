import { isAcceptedMediaType } from '../../../src/gateway/body/media-type';

describe('isAcceptedMediaType', () => {
  it.each([
    'application/json',
    'Application/JSON',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'application/json ; charset="utf-8"',
    'application/json;\tcharset=Utf-8 ',
  ])('accepts %j', (value) => expect(isAcceptedMediaType(value)).toBe(true));

  it.each([
    'application/json; charset=utf-7',
    'application/json; charset=utf-16',
    'application/json; charset=utf-16le',
    'application/json; charset=iso-8859-1',
    'application/json; charset=utf8',
    'application/json; charset=utf-8; charset=utf-7',
    'application/json; charset=utf-8, application/json; charset=utf-7',
    'application/json; profile=x',
    'application/json;',
    'application/json; charset = utf-8',
    'application/json; charset="utf-8',
    'application/jsonx',
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/x-www-form-urlencoded',
    'text/plain',
    'text/json',
    '*/*',
    '',
    ' application/json',
  ])('refuses %j', (value) => expect(isAcceptedMediaType(value)).toBe(false));
});
