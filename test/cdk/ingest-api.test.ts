import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  API_FUNCTION_TIMEOUT_SECONDS,
  API_THROTTLE_BURST,
  API_THROTTLE_RATE_PER_SECOND,
  AUTHORIZER_CACHE_SECONDS,
} from '../../lambdas/core/config.ts';
import { logicalId, type Synthesized, synthesize } from './stack-fixture.ts';

describe('ingest API', () => {
  let synth: Synthesized;
  let apiId: string;

  // Prepare and Act: the default stack, synthesized once. Each test assesses one behaviour.
  beforeAll(() => {
    synth = synthesize({ bundle: false });
    apiId = logicalId(synth.stack.api.httpApi);
  });

  it('is an HTTP API', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
  });

  it('throttles the $default stage', () => {
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: apiId },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: {
        ThrottlingRateLimit: API_THROTTLE_RATE_PER_SECOND,
        ThrottlingBurstLimit: API_THROTTLE_BURST,
      },
    });
  });

  it('writes JSON access logs with the request id to a log group kept one month', () => {
    const stage = Object.values(synth.template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    const settings = stage?.Properties.AccessLogSettings;
    const logGroupId = settings.DestinationArn['Fn::GetAtt'][0];

    expect(JSON.parse(settings.Format)).toMatchObject({ requestId: '$context.requestId' });
    expect(synth.template.findResources('AWS::Logs::LogGroup')[logGroupId]?.Properties.RetentionInDays).toBe(
      30,
    );
  });

  /** The function an integration invokes, by its logical id, for each route key. */
  function functionsByRoute(): Record<string, string> {
    const integrations = synth.template.findResources('AWS::ApiGatewayV2::Integration');
    const routes = synth.template.findResources('AWS::ApiGatewayV2::Route');
    return Object.fromEntries(
      Object.values(routes).map((route) => {
        const integrationId = String(route.Properties.Target['Fn::Join'][1][1].Ref);
        const uri = integrations[integrationId]?.Properties.IntegrationUri;
        return [route.Properties.RouteKey, uri['Fn::GetAtt'][0]];
      }),
    );
  }

  it.each(['GET /dashboard', 'GET /portal', 'GET /openapi.json'])(
    'routes %s to the pages function without an authorizer (a page or the API description)',
    (routeKey) => {
      synth.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        ApiId: { Ref: apiId },
        RouteKey: routeKey,
        AuthorizationType: 'NONE',
      });
      expect(functionsByRoute()[routeKey]).toBe(logicalId(synth.stack.api.pagesFunction));
    },
  );

  it('routes everything else to the API function', () => {
    expect(functionsByRoute()['ANY /{proxy+}']).toBe(logicalId(synth.stack.api.function));
  });

  it('routes everything else through the Lambda authorizer, its identity source the Authorization header', () => {
    const authorizers = synth.template.findResources('AWS::ApiGatewayV2::Authorizer');
    const [authorizerId, authorizer] = Object.entries(authorizers)[0] ?? [];
    expect(Object.keys(authorizers)).toHaveLength(1);
    expect(authorizer?.Properties).toMatchObject({
      ApiId: { Ref: apiId },
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: AUTHORIZER_CACHE_SECONDS,
    });
    expect(JSON.stringify(authorizer?.Properties.AuthorizerUri)).toContain(
      logicalId(synth.stack.api.authorizerFunction),
    );
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      ApiId: { Ref: apiId },
      RouteKey: 'ANY /{proxy+}',
      AuthorizationType: 'CUSTOM',
      AuthorizerId: { Ref: authorizerId },
    });
  });

  it('has only those four routes', () => {
    synth.template.resourceCountIs('AWS::ApiGatewayV2::Route', 4);
  });

  it('invokes both functions with payload format 2.0', () => {
    for (const fn of [synth.stack.api.function, synth.stack.api.pagesFunction]) {
      synth.template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
        ApiId: { Ref: apiId },
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
        IntegrationUri: { 'Fn::GetAtt': [logicalId(fn), 'Arn'] },
      });
    }
  });

  it('gives the API function its timeout', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'webhooks-api' }) },
      Timeout: API_FUNCTION_TIMEOUT_SECONDS,
    });
  });
});
