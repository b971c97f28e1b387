import { describe, expect, it } from 'vitest';
import {
  decodeInflux,
  sanitizeLabelName,
  sanitizeMetricName,
} from '../../../src/ingest/decodeInflux.js';
import { DEFAULT_DECODE_LIMITS } from '../../../src/ingest/limits.js';
import type { DecodeLimits } from '../../../src/ingest/limits.js';
import type { DecodeProblem, DecodeResult, MetricSample } from '../../../src/ingest/sample.js';

/** 2023-11-14T22:13:20Z */
const NOW = 1_700_000_000_000;
const NS = '1700000000000000000';

function decode(text: string, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): DecodeResult {
  return decodeInflux(text, { nowMs: NOW, limits });
}

function s(
  name: string,
  labels: Record<string, string>,
  value: number,
  timestampMs = NOW,
): MetricSample {
  return { name, labels, timestampMs, value };
}

function p(reason: DecodeProblem['reason'], detail: string, index = 0): DecodeProblem {
  return { reason, detail, index };
}

describe('decodeInflux: good lines', () => {
  const cases: [string, string, MetricSample[]][] = [
    [
      'tags, field, ns timestamp',
      `cpu,host=a usage=1.5 ${NS}`,
      [s('cpu_usage', { host: 'a' }, 1.5)],
    ],
    ['no tags', `cpu usage=2 ${NS}`, [s('cpu_usage', {}, 2)]],
    ['missing timestamp means now', 'cpu usage=2', [s('cpu_usage', {}, 2)]],
    [
      'several fields, one sample each',
      `cpu,host=a usage_idle=99.5,usage_user=0.5 ${NS}`,
      [s('cpu_usage_idle', { host: 'a' }, 99.5), s('cpu_usage_user', { host: 'a' }, 0.5)],
    ],
    ['integer', 'm f=-42i', [s('m_f', {}, -42)]],
    ['unsigned', 'm f=42u', [s('m_f', {}, 42)]],
    [
      'big integer (precision of a double)',
      'm f=9007199254740993i',
      [s('m_f', {}, 9007199254740992)],
    ],
    ['float with exponent', 'm f=1.5e3', [s('m_f', {}, 1500)]],
    ['float with negative exponent', 'm f=-2E-2', [s('m_f', {}, -0.02)]],
    ['float without integer part', 'm f=.5', [s('m_f', {}, 0.5)]],
    ['float with trailing dot', 'm f=1.', [s('m_f', {}, 1)]],
    [
      'booleans',
      'm a=t,b=T,c=true,d=True,e=TRUE,f=f,g=F,h=false,i=False,j=FALSE',
      [
        s('m_a', {}, 1),
        s('m_b', {}, 1),
        s('m_c', {}, 1),
        s('m_d', {}, 1),
        s('m_e', {}, 1),
        s('m_f', {}, 0),
        s('m_g', {}, 0),
        s('m_h', {}, 0),
        s('m_i', {}, 0),
        s('m_j', {}, 0),
      ],
    ],
    [
      'string fields are skipped',
      'log,host=a msg="hello, world",count=3i',
      [s('log_count', { host: 'a' }, 3)],
    ],
    [
      'string with escaped quotes, spaces, commas and equals',
      `log msg="a \\"b\\" c=d, e \\\\",n=1 ${NS}`,
      [s('log_n', {}, 1)],
    ],
    [
      'escaped space and comma in measurement',
      'my\\ cpu\\,x usage=1',
      [s('my_cpu_x_usage', {}, 1)],
    ],
    [
      'escapes in tag key and value',
      'cpu,host\\ name=a\\ b\\,c\\=d usage=1',
      [s('cpu_usage', { host_name: 'a b,c=d' }, 1)],
    ],
    ['escaped equals in field key', 'cpu us\\=er=1', [s('cpu_us_er', {}, 1)]],
    ['escaped backslash', 'cpu,path=C:\\\\temp f=1', [s('cpu_f', { path: 'C:\\temp' }, 1)]],
    ['other backslashes are literal', 'cpu,path=a\\b f=1', [s('cpu_f', { path: 'a\\b' }, 1)]],
    [
      'unescaped equals in a tag value is literal',
      'cpu,eq=a=b f=1',
      [s('cpu_f', { eq: 'a=b' }, 1)],
    ],
    [
      'names sanitised like Telegraf',
      'http.server,k8s.pod=p,0zone=z requests-total=1',
      [s('http_server_requests_total', { k8s_pod: 'p', _0zone: 'z' }, 1)],
    ],
    ['leading digit gets a prefix', '1m load=1', [s('_1m_load', {}, 1)]],
    [
      'non-ASCII becomes _ per code point',
      'température value=20',
      [s('temp_rature_value', {}, 20)],
    ],
    ['__name__ tag dropped', 'cpu,__name__=x,host=a f=1', [s('cpu_f', { host: 'a' }, 1)]],
    ['CRLF, surrounding blanks, double spaces', `  cpu  f=1  ${NS} \r`, [s('cpu_f', {}, 1)]],
  ];
  it.each(cases)('%s', (_title, text, samples) => {
    expect(decode(text)).toEqual({ samples, problems: [] });
  });
});

describe('decodeInflux: timestamp precision by digit count', () => {
  const cases: [string, string, number][] = [
    ['seconds (10 digits)', '1700000000', NOW],
    ['seconds with leading zeros', '0001700000000', NOW],
    ['milliseconds (13 digits)', '1700000000123', NOW + 123],
    ['microseconds (16 digits)', '1700000000123456', NOW + 123],
    ['nanoseconds (19 digits), truncated exactly', '1700000000123999999', NOW + 123],
    ['year 2000 in nanoseconds', '946684800000000000', 946_684_800_000],
    ['year 2000 in microseconds', '946684800000000', 946_684_800_000],
    ['year 2000 in milliseconds', '946684800000', 946_684_800_000],
    ['year 2000 in seconds', '946684800', 946_684_800_000],
  ];
  it.each(cases)('%s', (_title, timestamp, expectedMs) => {
    expect(decode(`m f=1 ${timestamp}`)).toEqual({
      samples: [s('m_f', {}, 1, expectedMs)],
      problems: [],
    });
  });
});

describe('decodeInflux: precision boundaries', () => {
  // The largest count of each unit lies far in the future; one more digit switches to the
  // next finer unit and lands in 1973, before the minimum. Either way the unit is visible.
  const future = (ms: number) => ({
    reason: 'timestamp_in_future' as const,
    detail: `timestamp: ${ms} ms is more than 300000 ms after now`,
    index: 0,
  });
  const early = {
    reason: 'invalid_timestamp' as const,
    detail:
      'timestamp: 100000000000 ms is before the minimum 946684800000 ms (seconds sent as milliseconds?)',
    index: 0,
  };
  const cases: [string, DecodeProblem][] = [
    ['99999999999', future(99_999_999_999_000)],
    ['100000000000', early],
    ['99999999999999', future(99_999_999_999_999)],
    ['100000000000000', early],
    ['99999999999999999', future(99_999_999_999_999)],
    ['100000000000000000', early],
  ];
  it.each(cases)('%s', (timestamp, problem) => {
    expect(decode(`m f=1 ${timestamp}`)).toEqual({ samples: [], problems: [problem] });
  });
});

describe('decodeInflux: bad lines', () => {
  const cases: [string, string, DecodeProblem][] = [
    [
      'no field set',
      'cpu',
      p('invalid_line_protocol', 'expected a space and the field set after the tags'),
    ],
    [
      'field without value',
      'bad line',
      p('invalid_line_protocol', 'field set: expected key=value, got key "line"'),
    ],
    ['missing measurement', ',host=a f=1', p('invalid_line_protocol', 'missing measurement')],
    [
      'tag without value',
      'cpu,host usage=1',
      p('invalid_line_protocol', 'tag set: expected key=value, got key "host"'),
    ],
    [
      'tag with empty value',
      'cpu,host= usage=1',
      p('invalid_line_protocol', 'tag "host": empty value'),
    ],
    [
      'tag with empty key',
      'cpu,=a usage=1',
      p('invalid_line_protocol', 'tag set: expected key=value, got key ""'),
    ],
    [
      'duplicate tag',
      'cpu,host=a,host=b usage=1',
      p('invalid_line_protocol', 'tag "host": label host appears twice'),
    ],
    [
      'tags that collide once sanitised',
      'cpu,a-b=1,a_b=2 f=1',
      p('invalid_line_protocol', 'tag "a_b": label a_b appears twice'),
    ],
    [
      'empty field key',
      'cpu =1',
      p('invalid_line_protocol', 'field set: expected key=value, got key ""'),
    ],
    [
      'trailing comma in field set',
      'cpu a=1,',
      p('invalid_line_protocol', 'field set: expected key=value, got key ""'),
    ],
    [
      'bare word value',
      'cpu usage=abc',
      p(
        'invalid_value',
        'field "usage": expected a number, integer (i), unsigned (u), boolean or quoted string, got "abc"',
      ),
    ],
    [
      'NaN is not line protocol',
      'cpu usage=NaN',
      p(
        'invalid_value',
        'field "usage": expected a number, integer (i), unsigned (u), boolean or quoted string, got "NaN"',
      ),
    ],
    [
      'fractional integer',
      'cpu usage=1.5i',
      p(
        'invalid_value',
        'field "usage": expected a number, integer (i), unsigned (u), boolean or quoted string, got "1.5i"',
      ),
    ],
    [
      'negative unsigned',
      'cpu usage=-5u',
      p(
        'invalid_value',
        'field "usage": expected a number, integer (i), unsigned (u), boolean or quoted string, got "-5u"',
      ),
    ],
    [
      'unterminated string',
      'cpu msg="oops',
      p('invalid_line_protocol', 'field "msg": unterminated string'),
    ],
    [
      'junk after a string',
      'cpu msg="a"x',
      p('invalid_line_protocol', 'field "msg": unexpected "x" after the value'),
    ],
    [
      'only string fields',
      'cpu msg="a",other="b"',
      p('invalid_value', 'no numeric field (2 string field(s); strings are not metrics)'),
    ],
    [
      'timestamp not an integer',
      'cpu usage=1 12:00',
      p('invalid_timestamp', 'timestamp: expected an integer at the end of the line, got "12:00"'),
    ],
    [
      'two timestamps',
      'cpu usage=1 123 456',
      p(
        'invalid_timestamp',
        'timestamp: expected an integer at the end of the line, got "123 456"',
      ),
    ],
    [
      'zero timestamp',
      'cpu usage=1 0',
      p(
        'invalid_timestamp',
        'timestamp: 0 ms is before the minimum 946684800000 ms (seconds sent as milliseconds?)',
      ),
    ],
    [
      'negative timestamp',
      'cpu usage=1 -1000000000000000000',
      p(
        'invalid_timestamp',
        'timestamp: -1000000000000 ms is before the minimum 946684800000 ms (seconds sent as milliseconds?)',
      ),
    ],
    [
      'future timestamp',
      'cpu usage=1 2000000000',
      p('timestamp_in_future', 'timestamp: 2000000000000 ms is more than 300000 ms after now'),
    ],
    [
      'huge value',
      'cpu usage=1e200',
      p(
        'value_out_of_range',
        'value: 1e+200 is beyond ±1e+100 (too large for variance arithmetic)',
      ),
    ],
    [
      'value overflowing a double',
      'cpu usage=1e400',
      p(
        'value_out_of_range',
        'value: Infinity is beyond ±1e+100 (too large for variance arithmetic)',
      ),
    ],
    [
      'label explosion',
      `cpu,${Array.from({ length: 33 }, (_, i) => `t${i}=v`).join(',')} f=1`,
      p('too_many_labels', 'labels: 33 labels, at most 32 allowed'),
    ],
    [
      'long tag value',
      `cpu,path=${'v'.repeat(1025)} f=1`,
      p('label_too_long', 'labels.path: value is longer than 1024 characters'),
    ],
    [
      'reserved tag name',
      'cpu,__proto__=x f=1',
      p('invalid_name', 'labels.__proto__: names starting with "__" are reserved'),
    ],
    [
      'metric name too long',
      `${'m'.repeat(251)} field=1`,
      p('invalid_name', 'name: longer than 256 characters'),
    ],
  ];
  it.each(cases)('%s', (_title, text, problem) => {
    expect(decode(text)).toEqual({ samples: [], problems: [problem] });
  });
});

describe('decodeInflux: messages', () => {
  it('skips comments and blank lines but counts them in the line index', () => {
    const text = [
      '# telegraf batch',
      `cpu,host=a usage=1 ${NS}`,
      '',
      'cpu,host=b usage=oops',
      `mem,host=a used=5i,free=3i ${NS}`,
      'disk',
      '',
    ].join('\n');
    expect(decode(text)).toEqual({
      samples: [
        s('cpu_usage', { host: 'a' }, 1),
        s('mem_used', { host: 'a' }, 5),
        s('mem_free', { host: 'a' }, 3),
      ],
      problems: [
        p(
          'invalid_value',
          'field "usage": expected a number, integer (i), unsigned (u), boolean or quoted string, got "oops"',
          3,
        ),
        p('invalid_line_protocol', 'expected a space and the field set after the tags', 5),
      ],
    });
  });

  it('gives every sample of a line its own label map', () => {
    const { samples } = decode('cpu,host=a x=1,y=2');
    expect(samples[0]?.labels).toEqual(samples[1]?.labels);
    expect(samples[0]?.labels).not.toBe(samples[1]?.labels);
  });

  it('keeps the good fields of a line whose other field breaks a limit', () => {
    expect(decode('cpu ok=1,huge=1e300')).toEqual({
      samples: [s('cpu_ok', {}, 1)],
      problems: [
        p(
          'value_out_of_range',
          'value: 1e+300 is beyond ±1e+100 (too large for variance arithmetic)',
        ),
      ],
    });
  });

  it('reports a message of only comments and blanks as empty', () => {
    expect(decode('# nothing\n\n  \r\n')).toEqual({
      samples: [],
      problems: [
        { reason: 'empty_message', detail: 'no data lines (only blank lines and comments)' },
      ],
    });
  });

  it('stops at maxSamplesPerMessage samples', () => {
    const limits = { ...DEFAULT_DECODE_LIMITS, maxSamplesPerMessage: 3 };
    expect(decode('a x=1,y=2\nb x=3,y=4\nc x=5', limits)).toEqual({
      samples: [s('a_x', {}, 1), s('a_y', {}, 2), s('b_x', {}, 3)],
      problems: [
        p(
          'too_many_samples',
          'more than 3 items in one message; this one and all after it were dropped',
          1,
        ),
      ],
    });
  });

  it('decodes a Telegraf-sized batch', () => {
    const lines = Array.from(
      { length: 1000 },
      (_, i) => `cpu,cpu=cpu${i % 8},host=h${i} usage_idle=${i}.5,usage_user=1 ${NS}`,
    );
    const { samples, problems } = decode(lines.join('\n'));
    expect(problems).toEqual([]);
    expect(samples).toHaveLength(2000);
    expect(samples[1998]).toEqual(s('cpu_usage_idle', { cpu: 'cpu7', host: 'h999' }, 999.5));
  });
});

describe('sanitise', () => {
  const metric: [string, string][] = [
    ['ok_name:x', 'ok_name:x'],
    ['a.b-c d', 'a_b_c_d'],
    ['9lives', '_9lives'],
    ['', ''],
  ];
  it.each(metric)('metric %j → %j', (input, expected) => {
    expect(sanitizeMetricName(input)).toBe(expected);
  });
  const label: [string, string][] = [
    ['ok_label', 'ok_label'],
    ['a:b', 'a_b'],
    ['0zone', '_0zone'],
  ];
  it.each(label)('label %j → %j', (input, expected) => {
    expect(sanitizeLabelName(input)).toBe(expected);
  });
});
