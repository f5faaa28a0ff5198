"""The SAM template declares the same Keyspaces tables as the store's CQL schema: same
tables, columns, types, partition keys and clustering columns. The CQL comes from `store-schema --print` on stdin."""
import re
import sys

import yaml


class CfnLoader(yaml.SafeLoader):
    pass


# !Ref, !Sub, !GetAtt...: keep the value, drop the tag.
CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: loader.construct_scalar(node)
                                if isinstance(node, yaml.ScalarNode) else loader.construct_sequence(node)
                                if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node))


def from_template(path):
    with open(path) as f:
        template = yaml.load(f, Loader=CfnLoader)
    tables = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Cassandra::Table":
            continue
        props = resource["Properties"]
        pk = [c["ColumnName"] for c in props["PartitionKeyColumns"]]
        clustering = props.get("ClusteringKeyColumns", [])
        ck = [c["Column"]["ColumnName"] for c in clustering]
        if any(c.get("OrderBy", "ASC") != "ASC" for c in clustering):
            sys.exit(f"{props['TableName']}: the CQL schema clusters ascending only")
        key_columns = props["PartitionKeyColumns"] + [c["Column"] for c in clustering]
        columns = {c["ColumnName"]: c["ColumnType"].lower() for c in key_columns + props.get("RegularColumns", [])}
        tables[props["TableName"]] = (columns, pk, ck)
    return tables


def split_top_level(text):
    """Splits on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for c in text:
        depth += {"(": 1, ")": -1}.get(c, 0)
        if c == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += c
    return parts + [current.strip()] if current.strip() else parts


def from_cql(text):
    tables = {}
    for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS \w+\.(\w+) \((.*?)\);\n", text, re.S):
        columns, pk, ck = {}, [], []
        for part in split_top_level(body):
            words = part.split()
            if part.upper().startswith("PRIMARY KEY"):
                keys = split_top_level(part[part.index("(") + 1:part.rindex(")")])
                pk = [k.strip() for k in keys[0].strip("()").split(",")]
                ck = keys[1:]
                continue
            if part.upper().endswith("PRIMARY KEY"):
                pk = [words[0]]
                words = words[:-2]
            columns[words[0]] = " ".join(words[1:]).lower()
        tables[name] = (columns, pk, ck)
    return tables


template = from_template(sys.argv[1])
cql = from_cql(sys.stdin.read())
if not cql:
    sys.exit("no CREATE TABLE read from store-schema --print")
if template != cql:
    print(f"template.yaml tables: {template}\nstore CQL tables:     {cql}", file=sys.stderr)
    sys.exit("template.yaml's AWS::Cassandra::Table resources differ from the store's CQL schema")
print(f"template.yaml declares the store's {len(cql)} tables")
