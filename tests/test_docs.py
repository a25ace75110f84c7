"""The documentation's links, file paths and commands point at things that
exist (issue 29).

Checked in ``README.md``, ``docs/*.md`` and ``configs/*/README.md``:

* every relative link ``[text](path)`` / ``[text](path#anchor)`` /
  ``[text](#anchor)`` names an existing file or folder, and its anchor a
  heading of the target Markdown file (GitHub's heading ids);
* every repository path in inline code (`` `tools/train.py` ``): a token with
  a ``/`` that ends in a file extension or ``/`` and starts at a top-level
  entry of the repository (or, in a method README, at an entry of its own
  folder, e.g. `` `ablation/voc_1464_hard-label.py` ``); braces
  ``{a,b}`` are expanded, ``*`` is a glob that must match something;
* every script and config a ``bash``/``shell`` block runs
  (``tools/....py|sh``, ``configs/....py``) exists, and every such config
  loads with ``mmengine.Config.fromfile``.
"""
import functools
import glob
import itertools
import os
import os.path as osp
import re
import unicodedata

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def doc_files():
    """The Markdown files checked, relative to the repository root."""
    files = ['README.md']
    files += sorted(
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(ROOT, 'docs', '*.md')))
    files += sorted(
        osp.relpath(p, ROOT)
        for p in glob.glob(osp.join(ROOT, 'configs', '*', 'README.md')))
    return files


# Paths the documentation names that are not files of the repository:
# outputs of a run, user data and other projects' files.
NOT_REPO_FILES = (
    re.compile(r'^(work_dirs|data|pretrain|pretrained|initmodel|exp|exps|'
               r'checkpoints?|splits)/'),
    re.compile(r'^(\.venv|\.cache|~)/'),
    re.compile(r'/vis_data/'),
    # the official code's YAML configs (ours are .py)
    re.compile(r'^configs/[^/]+\.yaml$'),
    # mmseg's converters and the three-stage code's, named as such
    re.compile(r'^tools/dataset_converters/(voc_aug|cityscapes)\.py$'),
    re.compile(r'^tools/convert_cityscapes\.py$'),
)

# Top-level entries a repository path starts with (``data/`` is the user's).
REPO_TOP = ('mmsss', 'configs', 'tools', 'tests', 'docs', 'requirements',
            'resources', 'projects', '.ci')

FENCE = re.compile(r'^\s*(```|~~~)\s*([\w+-]*)')
LINK = re.compile(r'!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?'
                  r'(?:\s+"[^"]*")?\s*\)')
INLINE_CODE = re.compile(r'(`+)(.+?)\1')
HEADING = re.compile(r'^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$')
PATH_TOKEN = re.compile(r'[\w.~{}*,\-/]+')
EXTENSION = re.compile(r'\.[A-Za-z][A-Za-z0-9]{0,4}$')
MIM_CONFIG = re.compile(r'\bmim\s+(?:train|test)\s+mmsss\s+([\w./-]+\.py)\b')
COMMAND_FILE = re.compile(r'(?<![\w/.-])((?:tools|configs)/[\w./{},*-]+?'
                          r'\.(?:py|sh))(?![\w/-])')


def split_markdown(text):
    """``(prose_lines, code_blocks)``: lines outside fenced code (with their
    1-based numbers) and ``(language, [lines])`` of every fenced block."""
    prose, blocks = [], []
    fence, lang, block = None, '', []
    for number, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence, lang, block = m.group(1), m.group(2).lower(), []
        elif fence is not None and line.strip().startswith(fence):
            blocks.append((lang, block))
            fence = None
        elif fence is not None:
            block.append(line)
        else:
            prose.append((number, line))
    if fence is not None:
        blocks.append((lang, block))
    return prose, blocks


def github_slug(heading):
    """GitHub's id of a heading: the rendered text (inline code unwrapped,
    link text kept), lower-cased, every character but letters, marks,
    digits, connector punctuation (``_``), ``-`` and spaces dropped, spaces
    turned into ``-`` (github-slugger's ``[^\\p{L}\\p{M}\\p{N}\\p{Pc} -]``)."""
    text = LINK.sub(lambda m: m.group(1), heading)
    text = text.replace('`', '')
    text = re.sub(r'<[^>]+>', '', text)
    text = text.strip().lower()
    kept = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch in '- ' or cat[0] in 'LMN' or cat == 'Pc':
            kept.append(ch)
    return ''.join(kept).replace(' ', '-')


def heading_ids(text):
    """Every heading id of a Markdown text, with GitHub's ``-1``, ``-2``
    suffixes for repeated headings."""
    prose, _ = split_markdown(text)
    seen, ids = {}, set()
    for _, line in prose:
        m = HEADING.match(line)
        if not m:
            continue
        slug = github_slug(m.group(2))
        if slug in seen:
            seen[slug] += 1
            slug = f'{slug}-{seen[slug]}'
        else:
            seen[slug] = 0
        ids.add(slug)
    return ids


@functools.lru_cache(maxsize=None)
def _heading_ids_of(path):
    with open(path, encoding='utf-8') as f:
        return frozenset(heading_ids(f.read()))


def expand_braces(token):
    """``a_{b,c}.py`` -> ``['a_b.py', 'a_c.py']`` (every brace group)."""
    parts = re.split(r'(\{[^{}]*\})', token)
    choices = [
        p[1:-1].split(',') if p.startswith('{') and p.endswith('}') else [p]
        for p in parts
    ]
    return [''.join(c) for c in itertools.product(*choices)]


def _exists(path):
    if any(ch in path for ch in '*?['):
        return bool(glob.glob(path))
    return osp.exists(path)


def check_link(target, doc_dir, root=ROOT, own_text=None):
    """Problem with one link target (``None`` if fine). ``doc_dir``: folder
    of the Markdown file, absolute; ``own_text``: that file's text, for
    ``#anchor`` links inside it."""
    if re.match(r'^[a-z][a-z0-9+.-]*:', target) or target.startswith('//'):
        return None  # http(s), mailto, ...: not checked here
    path, _, anchor = target.partition('#')
    if path:
        full = osp.normpath(osp.join(doc_dir, path))
        if osp.relpath(full, root).split(os.sep)[0] == '..':
            return f'link {target!r} leaves the repository'
        if not osp.exists(full):
            return f'link {target!r}: {osp.relpath(full, root)} does not exist'
    if not anchor:
        return None
    if path:
        if not full.endswith('.md') or osp.isdir(full):
            return None  # anchors of code files are line numbers
        ids = _heading_ids_of(full)
    else:
        ids = heading_ids(own_text or '')
    if anchor not in ids:
        return (f'link {target!r}: no heading #{anchor} in '
                f'{osp.relpath(full, root) if path else "this file"}')
    return None


def is_repo_path(token, doc_dir, root=ROOT):
    """Whether an inline-code token names a file or folder of the
    repository (and not a run's output, a user's data, a placeholder or
    another project's file)."""
    if '/' not in token or not PATH_TOKEN.fullmatch(token):
        return False
    if token.startswith(('/', '../', './')) or '//' in token:
        return False
    if not (token.endswith('/') or EXTENSION.search(token)):
        return False
    if any(p.search(token) for p in NOT_REPO_FILES):
        return False
    first = token.split('/')[0]
    return first in REPO_TOP or (
        osp.abspath(doc_dir) != osp.abspath(root)
        and osp.exists(osp.join(doc_dir, first)))


def check_code_path(token, doc_dir, root=ROOT):
    """Problem with one inline-code repository path (``None`` if fine)."""
    first = token.split('/')[0]
    base = root if first in REPO_TOP else doc_dir
    for candidate in expand_braces(token):
        if not _exists(osp.join(base, candidate.rstrip('/'))):
            missing = osp.relpath(osp.join(base, candidate), root)
            return f'`{token}`: {missing} does not exist'
    return None


def mim_config_problem(name, root=ROOT):
    """mim's rule for ``mim train/test mmsss NAME``: a path that does not
    exist is looked up by file name, which must occur exactly once in the
    package (openmim ``mim/commands/train.py``, ``recursively_find``)."""
    if '/' in name and osp.exists(osp.join(root, name)):
        return None
    found = [
        osp.relpath(osp.join(d, f), root)
        for d, _, files in os.walk(osp.join(root, 'configs')) for f in files
        if f == osp.basename(name)
    ]
    if len(found) != 1:
        return (f'mim config {name!r}: found {len(found)} files of that name '
                f'under configs/ {sorted(found)}, mim needs exactly one')
    return None


def command_blocks(blocks):
    """Command lines (comments dropped) of ``bash``/``shell`` blocks."""
    for lang, lines in blocks:
        if lang not in ('bash', 'shell', 'sh', 'console'):
            continue
        for line in lines:
            code = line.split(' #', 1)[0]
            if not code.lstrip().startswith('#'):
                yield code


def command_files(blocks):
    """Scripts and configs named in ``bash``/``shell``/``sh`` blocks."""
    return [
        name for code in command_blocks(blocks)
        for m in COMMAND_FILE.finditer(code)
        for name in expand_braces(m.group(1))
    ]


def find_problems(text, doc_path, root=ROOT):
    """Every broken link, repository path and command file of one Markdown
    text, as ``'<file>:<line>: <problem>'`` strings; also returns the
    configs its command blocks name (to be loaded by the caller)."""
    doc_dir = osp.dirname(osp.join(root, doc_path))
    prose, blocks = split_markdown(text)
    problems = []
    for number, line in prose:
        code_spans = [m.group(2).strip() for m in INLINE_CODE.finditer(line)]
        outside_code = INLINE_CODE.sub('``', line)
        for m in LINK.finditer(outside_code):
            problem = check_link(m.group(2), doc_dir, root, own_text=text)
            if problem:
                problems.append(f'{doc_path}:{number}: {problem}')
        tokens = [t.strip('\'",;:()') for span in code_spans
                  for t in span.split()]
        for token in tokens:
            if is_repo_path(token, doc_dir, root):
                problem = check_code_path(token, doc_dir, root)
                if problem:
                    problems.append(f'{doc_path}:{number}: {problem}')
    for code in command_blocks(blocks):
        for m in MIM_CONFIG.finditer(code):
            problem = mim_config_problem(m.group(1), root)
            if problem:
                problems.append(f'{doc_path}: {problem}')
    configs = []
    for name in command_files(blocks):
        if not osp.exists(osp.join(root, name)):
            problems.append(f'{doc_path}: command block names {name}, '
                            'which does not exist')
        elif name.startswith('configs/'):
            configs.append(name)
    return problems, configs


def config_load_problems(names, root=ROOT):
    """Configs (paths relative to ``root``) that ``Config.fromfile`` cannot
    load, with the error."""
    from mmengine import Config
    failed = []
    for name in sorted(set(names)):
        try:
            Config.fromfile(osp.join(root, name), import_custom_modules=False)
        except Exception as e:  # noqa: BLE001 - reported with the file
            failed.append(f'{name}: {type(e).__name__}: {e}')
    return failed


def _read(path):
    with open(osp.join(ROOT, path), encoding='utf-8') as f:
        return f.read()


@pytest.mark.parametrize('doc_path', doc_files())
def test_links_and_paths_exist(doc_path):
    problems, _ = find_problems(_read(doc_path), doc_path)
    assert not problems, '\n'.join(problems)


def test_configs_of_command_blocks_load():
    configs = [
        c for doc in doc_files() for c in find_problems(_read(doc), doc)[1]
    ]
    assert configs, 'no command block names a config: the scan is broken'
    failed = config_load_problems(configs)
    assert not failed, '\n'.join(failed)


def test_docs_tree_is_linked_from_the_index():
    index = _read('docs/index.md')
    targets = {m.group(2).partition('#')[0] for m in LINK.finditer(index)}
    pages = {
        osp.basename(p)
        for p in glob.glob(osp.join(ROOT, 'docs', '*.md'))
    }
    missing = sorted(pages - targets - {'index.md'})
    assert not missing, f'docs/index.md does not link {missing}'


# The checker itself: it must fail on what it is meant to catch.

def test_github_slug():
    assert github_slug('Resume and reproducibility') == \
        'resume-and-reproducibility'
    assert github_slug('Official networks and weights (PSPNet-50)') == \
        'official-networks-and-weights-pspnet-50'
    assert github_slug('`tools/infer.py`: your images') == \
        'toolsinferpy-your-images'
    assert github_slug('Recipe: paper, official code, ours (issue 17)') == \
        'recipe-paper-official-code-ours-issue-17'
    assert github_slug('Mean teacher + CutMix (the "standard" baseline)') == \
        'mean-teacher--cutmix-the-standard-baseline'
    assert github_slug('Checkpoints and torch ≥ 2.6') == \
        'checkpoints-and-torch--26'
    assert github_slug('Not given by the paper — our choices') == \
        'not-given-by-the-paper--our-choices'
    assert heading_ids('# A\n## A\n```\n# not a heading\n```\n## B') == \
        {'a', 'a-1', 'b'}


def test_expand_braces():
    assert expand_braces('a/{x,y}_{1,2}.py') == \
        ['a/x_1.py', 'a/x_2.py', 'a/y_1.py', 'a/y_2.py']
    assert expand_braces('a/b.py') == ['a/b.py']


@pytest.fixture
def tiny_repo(tmp_path):
    """A repository of a few files, for the checker's own tests."""
    for name in ('README.md', 'tools/train.py', 'mmsss/datasets/__init__.py',
                 'configs/mean_teacher/synthetic_1-16.py',
                 'configs/esl/README.md',
                 'configs/esl/ablation/voc_1464_hard-label.py',
                 'configs/unimatch/README.md',
                 'configs/_aliases_/mean_teacher_synthetic_1-16.py',
                 'configs/imas/voc_1-8.py', 'configs/mean_teacher/voc_1-8.py'):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text('')
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'train_test.md').write_text(
        '# Train and test\n\n## Resume and reproducibility\n')
    return str(tmp_path)


def test_broken_things_are_reported(tiny_repo):
    text = '\n'.join([
        '# Title',
        'See [train](docs/train_test.md) and [nothing](docs/no_such_page.md).',
        'Jump to [title](#title) or [nowhere](#no-such-heading).',
        'Sections [resume](docs/train_test.md#resume-and-reproducibility), '
        '[bad](docs/train_test.md#no-such-section).',
        'Image ![x](resources/no_such_picture.png).',
        'Run `tools/no_such_tool.py` or `tools/train.py`, read '
        '`mmsss/{datasets,no_such_package}/`; outputs '
        '`work_dirs/demo/predictions.png` are not files.',
        'Other projects: `imas/models/resnet.py`, `configs/pascal.yaml`, '
        'a URL '
        '[mmseg](https://github.com/open-mmlab/mmsegmentation).',
        '```bash',
        'python tools/train.py configs/no_such_method/voc.py  # comment',
        'bash tools/no_such_script.sh configs/mean_teacher/synthetic_1-16.py',
        'mim train mmsss mean_teacher_synthetic_1-16.py --work-dir w/mt',
        'mim test mmsss voc_1-8.py --checkpoint x.pth',
        'mim train mmsss imas_no_such_alias.py',
        '```',
        '```python',
        "cfg = 'configs/also_not_here.py'  # not a command block",
        '```',
    ])
    problems, configs = find_problems(text, 'README.md', root=tiny_repo)
    joined = '\n'.join(problems)
    for broken in ('docs/no_such_page.md', '#no-such-heading',
                   'train_test.md#no-such-section', 'no_such_picture.png',
                   'tools/no_such_tool.py', 'mmsss/no_such_package',
                   'configs/no_such_method/voc.py',
                   'tools/no_such_script.sh', "'voc_1-8.py': found 2",
                   "'imas_no_such_alias.py': found 0"):
        assert broken in joined, f'{broken} not reported:\n{joined}'
    assert len(problems) == 10, joined
    for fine in ("'docs/train_test.md'", '(#title)', 'resume-and',
                 '`tools/train.py`',
                 'work_dirs', 'imas/models', 'pascal.yaml', 'also_not_here',
                 'mean_teacher_synthetic_1-16.py\''):
        assert fine not in joined, joined
    assert configs == ['configs/mean_teacher/synthetic_1-16.py']


def test_paths_relative_to_a_method_folder(tiny_repo):
    text = ('Ablations: `ablation/voc_1464_hard-label.py`, '
            '`ablation/no_such_ablation.py`; [up](../unimatch/README.md), '
            '[gone](../no_such_method/README.md), [out](../../../x.md).')
    problems, _ = find_problems(text, 'configs/esl/README.md', root=tiny_repo)
    joined = '\n'.join(problems)
    assert len(problems) == 3, joined
    assert 'no_such_ablation' in joined and 'no_such_method' in joined
    assert 'leaves the repository' in joined


def test_a_config_that_does_not_load_is_reported(tmp_path):
    (tmp_path / 'configs').mkdir()
    (tmp_path / 'configs' / 'good.py').write_text('a = 1\n')
    (tmp_path / 'configs' / 'bad.py').write_text(
        "_base_ = ['./no_such_base.py']\n")
    failed = config_load_problems(
        ['configs/good.py', 'configs/bad.py', 'configs/good.py'],
        str(tmp_path))
    assert len(failed) == 1 and failed[0].startswith('configs/bad.py: '), \
        failed
