"""The README's "Trying it" commands, as a reader would paste them. Prints each complete
`curl` command of that section's shell block (continuation lines joined) with the base URL
replaced by argv[1], one per line, NUL-free, for e2e-local.sh to run; fails if a command is
not plain ASCII (a pasted `…` is sent as UTF-8 and refused) or if the status table lists a
status the API cannot answer through API Gateway or `cargo lambda watch` (405: they route by
method and answer 404 themselves)."""
import re
import sys

base = sys.argv[1]
with open("README.md", encoding="utf-8") as f:
    readme = f.read()
section = readme.split("## Trying it", 1)[1].split("\n## ", 1)[0]
block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
commands, current = [], ""
for line in block.splitlines():
    if line.lstrip().startswith("#") or not line.strip():
        continue
    current += line.rstrip("\\").strip() + " "
    if not line.endswith("\\"):
        commands.append(current.strip())
        current = ""
for command in commands:
    if not command.isascii():
        sys.exit(f"README command is not plain ASCII (a reader pasting it sends UTF-8): {command}")
statuses = re.findall(r"^\| (\d{3})", readme, re.M)
if "405" in statuses:
    sys.exit("README lists 405, which unrouted methods never get (API Gateway and cargo lambda answer 404)")
for command in commands:
    print(command.replace("localhost:9000", base))
