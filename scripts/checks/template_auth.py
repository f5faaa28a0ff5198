"""Who may call the deployed API, read from template.yaml after the SAM transform (what
CloudFormation evaluates): every route goes through the JWT authorizer (reads unless
PublicReads), creates need the write scope, the authorizer trusts the stack's Cognito pool or
the issuer given, the stage throttles (creates tighter), CORS is off unless origins are given,
and the functions are never told to skip their own check (no STORE_AUTH).
Usage: template_auth.py TRANSFORMED.json"""
import json
import sys

with open(sys.argv[1]) as f:
    template = json.load(f)
resources, parameters = template["Resources"], template["Parameters"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def of_type(kind):
    return {n: r for n, r in resources.items() if r["Type"] == kind}


authorizers = of_type("AWS::ApiGatewayV2::Authorizer")
check(len(authorizers) == 1, f"one authorizer expected, got {sorted(authorizers)}")
authorizer_name, authorizer = next(iter(authorizers.items()))
props = authorizer["Properties"]
check(props["AuthorizerType"] == "JWT", "the authorizer is not a JWT authorizer")
check(props["IdentitySource"] == ["$request.header.Authorization"], "the token is not read from Authorization")
issuer = props["JwtConfiguration"]["Issuer"]
check(issuer.get("Fn::If", [None])[0] == "UseCognito" and issuer["Fn::If"][2] == {"Ref": "JwtIssuer"},
      f"the issuer is not the stack's pool or JwtIssuer: {issuer}")
check(parameters["JwtIssuer"]["Default"] == "", "by default the stack must create its own user pool")

routes = {r["Properties"]["RouteKey"]: r["Properties"] for r in of_type("AWS::ApiGatewayV2::Route").values()}
check(set(routes) == {"POST /products", "GET /products", "GET /products/{id}"}, f"routes {sorted(routes)}")
post = routes.get("POST /products", {})
check(post.get("AuthorizationType") == "JWT" and post.get("AuthorizerId") == {"Ref": authorizer_name},
      "POST /products is not behind the JWT authorizer")
check(post.get("AuthorizationScopes") == [{"Ref": "WriteScope"}], "POST /products does not require WriteScope")
check(parameters["WriteScope"]["Default"] == "products/write", "the default write scope is not products/write")
for key in ("GET /products", "GET /products/{id}"):
    read = routes.get(key, {})
    check(read.get("AuthorizationType") == {"Fn::If": ["ReadsArePublic", "NONE", "JWT"]},
          f"{key}: authentication does not follow PublicReads")
    check(read.get("AuthorizerId") == {"Fn::If": ["ReadsArePublic", {"Ref": "AWS::NoValue"}, {"Ref": authorizer_name}]},
          f"{key}: not behind the authorizer when reads are not public")
check(parameters["PublicReads"]["Default"] == "false", "reads must need a token by default")
check(template["Conditions"]["ReadsArePublic"] == {"Fn::Equals": [{"Ref": "PublicReads"}, "true"]}, "ReadsArePublic")

stages = list(of_type("AWS::ApiGatewayV2::Stage").values())
check(len(stages) == 1, "one stage expected")
settings = stages[0]["Properties"]
check(settings["DefaultRouteSettings"] == {"ThrottlingRateLimit": {"Ref": "ThrottlingRateLimit"},
                                           "ThrottlingBurstLimit": {"Ref": "ThrottlingBurstLimit"}}, "stage throttling")
check(settings["RouteSettings"].get("POST /products") == {"ThrottlingRateLimit": {"Ref": "WriteThrottlingRateLimit"},
                                                          "ThrottlingBurstLimit": {"Ref": "WriteThrottlingBurstLimit"}},
      "create throttling")
for name in ("ThrottlingRateLimit", "ThrottlingBurstLimit", "WriteThrottlingRateLimit", "WriteThrottlingBurstLimit"):
    check(int(parameters[name]["Default"]) > 0, f"{name} default")
check(int(parameters["WriteThrottlingRateLimit"]["Default"]) <= int(parameters["ThrottlingRateLimit"]["Default"]),
      "creates must not be allowed faster than the whole API")

api = next(iter(of_type("AWS::ApiGatewayV2::Api").values()))["Properties"]
cors = api.get("CorsConfiguration", {})
check(cors.get("Fn::If", [None])[0] == "HasCors" and cors["Fn::If"][2] == {"Ref": "AWS::NoValue"},
      "CORS must be off unless CorsAllowedOrigins is given")
check(cors["Fn::If"][1]["AllowOrigins"] == {"Ref": "CorsAllowedOrigins"}, "CORS origins are not the parameter")
check(parameters["CorsAllowedOrigins"]["Default"] == "", "no CORS origin by default")

for name, fn in of_type("AWS::Lambda::Function").items():
    variables = fn["Properties"].get("Environment", {}).get("Variables", {})
    check("STORE_AUTH" not in variables, f"{name} sets STORE_AUTH: the deployed functions must check claims")
create_env = resources["CreateProductFunction"]["Properties"]["Environment"]["Variables"]
check(create_env.get("STORE_WRITE_SCOPE") == {"Ref": "WriteScope"}, "create-product does not check the same scope")

for name, permission in of_type("AWS::Lambda::Permission").items():
    source = json.dumps(permission["Properties"].get("SourceArn"))
    check("execute-api" in source and "${ProductsApi}" in source, f"{name} lets more than this API invoke")

pool = resources.get("EmployeesUserPool", {}).get("Properties", {})
check(pool.get("AdminCreateUserConfig", {}).get("AllowAdminCreateUserOnly") is True, "employees must be invited, not sign up")
client = resources.get("EmployeesAppClient", {}).get("Properties", {})
check("products/write" in client.get("AllowedOAuthScopes", []), "the app client cannot ask for products/write")
check(client.get("GenerateSecret") is False and client.get("AllowedOAuthFlows") == ["code"],
      "the employees' client must be public and use the code flow (with PKCE)")

if failures:
    for failure in failures:
        print(f"template auth check failed: {failure}", file=sys.stderr)
    sys.exit(1)
print("template.yaml: JWT authorizer on every route (reads per PublicReads), write scope, throttling, CORS off by default")
