// Runs a list of VPC API operations through one real Node.js Alibaba Cloud client and prints
// one JSON result per operation: {"ok": true, "body": {...}} or {"ok": false, "code", "name",
// "message", "statusCode"} as that client reports the error (tests/emulator/test_emulator_clients.py).
//
// Input (JSON on stdin): {"client", "endpoint": "host:port", "accessKeyId", "accessKeySecret",
// "securityToken"?, "regionId", "ops": [{"op": "describe", "filters": {KEY: [VALUES]},
// "pageNumber"?, "pageSize"?} | {"op": "unassociate", "haVipId", "instanceId", "force"?}]}
'use strict';

const CLIENTS = {
  // @alicloud/pop-core: v2 HMAC-SHA1, every parameter in the query (GET) or the form (POST)
  'pop-core-get': (cfg) => popCore(cfg, 'GET'),
  'pop-core-post': (cfg) => popCore(cfg, 'POST'),
  // the official generated client (@alicloud/vpc20160428 on @alicloud/openapi-core)
  'vpc20160428': (cfg) => official(cfg, undefined),
  'vpc20160428-sm3': (cfg) => official(cfg, 'ACS3-HMAC-SM3'),
  // the generic @alicloud/openapi-client (callApi), as older generated clients use it
  'openapi-client': (cfg) => generic(cfg, undefined),
  'openapi-client-v2': (cfg) => generic(cfg, 'v2'),
};

function filterList(filters) {
  return Object.entries(filters || {}).map(([key, value]) => ({ Key: key, Value: value }));
}

function popCore(cfg, method) {
  const RPCClient = require('@alicloud/pop-core');
  const client = new RPCClient({
    accessKeyId: cfg.accessKeyId,
    accessKeySecret: cfg.accessKeySecret,
    securityToken: cfg.securityToken,
    endpoint: `http://${cfg.endpoint}`,
    apiVersion: '2016-04-28',
  });
  const opts = { method, timeout: 5000 };
  return {
    describe: (op) => {
      const params = { RegionId: cfg.regionId, Filter: filterList(op.filters) };
      if (op.pageNumber !== undefined) params.PageNumber = op.pageNumber;
      if (op.pageSize !== undefined) params.PageSize = op.pageSize;
      return client.request('DescribeHaVips', params, opts);
    },
    unassociate: (op) => client.request('UnassociateHaVip', {
      RegionId: cfg.regionId, HaVipId: op.haVipId, InstanceId: op.instanceId, Force: Boolean(op.force),
    }, opts),
  };
}

function officialConfig(Config, cfg, algorithm) {
  return new Config({
    accessKeyId: cfg.accessKeyId,
    accessKeySecret: cfg.accessKeySecret,
    securityToken: cfg.securityToken,
    endpoint: cfg.endpoint,
    protocol: 'http',
    regionId: cfg.regionId,
    signatureAlgorithm: algorithm,
    readTimeout: 5000,
    connectTimeout: 2000,
  });
}

function official(cfg, algorithm) {
  const Vpc = require('@alicloud/vpc20160428');
  const { $OpenApiUtil } = require('@alicloud/openapi-core');
  const client = new Vpc.default(officialConfig($OpenApiUtil.Config, cfg, algorithm));
  return {
    describe: async (op) => {
      const request = new Vpc.DescribeHaVipsRequest({
        regionId: cfg.regionId,
        filter: Object.entries(op.filters || {}).map(
          ([key, value]) => new Vpc.DescribeHaVipsRequestFilter({ key, value })),
        pageNumber: op.pageNumber,
        pageSize: op.pageSize,
      });
      return (await client.describeHaVips(request)).body.toMap();
    },
    unassociate: async (op) => {
      const request = new Vpc.UnassociateHaVipRequest({
        regionId: cfg.regionId, haVipId: op.haVipId, instanceId: op.instanceId, force: Boolean(op.force),
      });
      return (await client.unassociateHaVip(request)).body.toMap();
    },
  };
}

function generic(cfg, algorithm) {
  const OpenApi = require('@alicloud/openapi-client');
  const Util = require('@alicloud/tea-util');
  const client = new OpenApi.default(officialConfig(OpenApi.Config, cfg, algorithm));
  const call = async (action, query) => {
    const params = new OpenApi.Params({
      action, version: '2016-04-28', protocol: 'HTTP', pathname: '/', method: 'POST',
      authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json',
    });
    const request = new OpenApi.OpenApiRequest({ query });
    return (await client.callApi(params, request, new Util.RuntimeOptions({}))).body;
  };
  return {
    describe: (op) => {
      const query = { RegionId: cfg.regionId, Filter: filterList(op.filters) };
      if (op.pageNumber !== undefined) query.PageNumber = op.pageNumber;
      if (op.pageSize !== undefined) query.PageSize = op.pageSize;
      return call('DescribeHaVips', flatten(query));
    },
    unassociate: (op) => call('UnassociateHaVip', {
      RegionId: cfg.regionId, HaVipId: op.haVipId, InstanceId: op.instanceId, Force: String(Boolean(op.force)),
    }),
  };
}

// Filter: [{Key, Value: [..]}] -> Filter.1.Key, Filter.1.Value.1 (what OpenApiUtil.query does)
function flatten(query, prefix = '', out = {}) {
  for (const [key, value] of Object.entries(query)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (item !== null && typeof item === 'object') flatten(item, `${name}.${i + 1}`, out);
        else out[`${name}.${i + 1}`] = String(item);
      });
    } else if (value !== null && typeof value === 'object') {
      flatten(value, name, out);
    } else if (value !== undefined) {
      out[name] = String(value);
    }
  }
  return out;
}

function describeError(err) {
  const data = err.data || {};
  return {
    ok: false,
    code: err.code || data.Code || null,
    name: err.name || null,
    message: String(err.message || ''),
    statusCode: err.statusCode || data.statusCode || (err.entry && err.entry.response && err.entry.response.statusCode) || null,
  };
}

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const cfg = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const make = CLIENTS[cfg.client];
  if (!make) throw new Error(`unknown client ${cfg.client}: one of ${Object.keys(CLIENTS).join(', ')}`);
  const client = make(cfg);
  const results = [];
  for (const op of cfg.ops) {
    try {
      results.push({ ok: true, body: await client[op.op](op) });
    } catch (err) {
      results.push(describeError(err));
    }
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
