"""Lints the template CloudFormation actually evaluates: template.yaml after the SAM transform.
cfn-lint and `sam validate --lint` read the SAM file, where a reference SAM rewrites (into IAM
policies, for instance) is not checked against the resource schemas; after the transform it is,
so an error there (E1010 on an attribute a resource does not have) would make `sam deploy`
fail. The transform is samtranslator's, the library inside the SAM CLI, run offline: the
template names no managed policy, so nothing is looked up in IAM.

Usage: sam_transformed.py TEMPLATE [OUT.json]  (prints cfn-lint's findings; exit 1 on any)."""
import json
import os
import subprocess
import sys
import tempfile

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class OfflinePolicies:
    """ManagedPolicyLoader's interface without IAM: every policy name is unknown."""

    def load(self):
        return {}


def main():
    # The transform resolves pseudo parameters from a region; no AWS call is made.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    source = sys.argv[1]
    with open(source) as f:
        sam = yaml_parse(f.read())
    # `sam deploy` uploads local code and rewrites CodeUri to its S3 address before the
    # transform; a placeholder address stands in for that upload.
    for name, resource in sam["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function" and not str(props.get("CodeUri", "")).startswith("s3://"):
            props["CodeUri"] = f"s3://placeholder-bucket/{name}.zip"
    cfn = transform(sam, {}, OfflinePolicies())
    out = sys.argv[2] if len(sys.argv) > 2 else tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    with open(out, "w") as f:
        json.dump(cfn, f, indent=1)
    # Same rules as for the SAM file; the region only picks the resource schemas.
    result = subprocess.run(["cfn-lint", "--regions", "us-east-1", "--", out], capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    if result.returncode != 0:
        sys.exit(f"{source} after the SAM transform fails cfn-lint (exit {result.returncode}); see above")
    print(f"{source} after the SAM transform: cfn-lint clean ({len(cfn['Resources'])} resources)")


main()
