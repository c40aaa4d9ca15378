package scope

import (
	"fmt"
	"maps"
	"slices"

	"github.com/gatehouse/gatehouse/internal/store"
)

// IntegrationToken is the scope that lets an application's client-credentials
// token fetch the integrations' access tokens (the token API). It is in both
// built-in catalogues at the system-administrator level, implied by no other
// scope; a custom catalogue offers it by defining a scope of this name at
// that level.
const IntegrationToken = "INTEGRATION_TOKEN"

// Default names the catalogue used when none is configured.
const Default = "atlassian"

// builtins are validated at start-up; a mistake in them is a programming error.
var builtins = map[string]*Catalogue{
	"atlassian": mustCatalogue(atlassian),
	"bitbucket": mustCatalogue(bitbucket),
}

// atlassian mirrors the Jira and Confluence Data Center scopes.
var atlassian = []Scope{
	{
		Name: "READ",
		Description: map[string]string{
			"en": "View your data and everything you can see",
			"ja": "あなたのデータと、あなたが閲覧できるすべての内容を表示する",
		},
		Level: store.LevelUser,
	},
	{
		Name: "WRITE",
		Description: map[string]string{
			"en": "Create, change and delete content wherever you can",
			"ja": "あなたが操作できるすべての場所で、コンテンツを作成・変更・削除する",
		},
		Implies: []string{"READ"},
		Level:   store.LevelUser,
	},
	{
		Name: "ADMIN",
		Description: map[string]string{
			"en": "Do the administration you are allowed to, except system tasks such as backups and imports",
			"ja": "バックアップやインポートなどのシステム作業を除き、あなたに許可された管理作業を行う",
		},
		Implies: []string{"WRITE"},
		Level:   store.LevelAdmin,
	},
	{
		Name: "SYSTEM_ADMIN",
		Description: map[string]string{
			"en": "Do every administration task, including system tasks such as backups and imports",
			"ja": "バックアップやインポートなどのシステム作業を含む、すべての管理作業を行う",
		},
		Implies: []string{"ADMIN"},
		Level:   store.LevelSystemAdmin,
	},
	{
		Name: IntegrationToken,
		Description: map[string]string{
			"en": "Fetch the access tokens of Gatehouse's outgoing OAuth 2.0 integrations (for services that sign in to mailboxes)",
			"ja": "Gatehouse の外部 OAuth 2.0 連携のアクセストークンを取得する（メールボックスにサインインするサービス向け）",
		},
		Level: store.LevelSystemAdmin,
	},
}

// bitbucket mirrors the Bitbucket Data Center scopes.
var bitbucket = []Scope{
	{
		Name: "PUBLIC_REPOS",
		Description: map[string]string{
			"en": "View public projects and repositories, including cloning their code",
			"ja": "公開されているプロジェクトとリポジトリを表示し、コードをクローンする",
		},
		Level: store.LevelUser,
	},
	{
		Name: "ACCOUNT_WRITE",
		Description: map[string]string{
			"en": "Change your account settings, such as your SSH keys and personal details",
			"ja": "SSH キーや個人情報など、あなたのアカウント設定を変更する",
		},
		Level: store.LevelUser,
	},
	{
		Name: "REPO_READ",
		Description: map[string]string{
			"en": "View the projects and repositories you can see, including cloning code and reading pull requests",
			"ja": "あなたが閲覧できるプロジェクトとリポジトリを表示し、コードのクローンやプルリクエストの閲覧を行う",
		},
		Level: store.LevelUser,
	},
	{
		Name: "REPO_WRITE",
		Description: map[string]string{
			"en": "Push code, and create, comment on and merge pull requests, in repositories you can write to",
			"ja": "あなたが書き込めるリポジトリにコードをプッシュし、プルリクエストを作成・コメント・マージする",
		},
		Implies: []string{"REPO_READ"},
		Level:   store.LevelUser,
	},
	{
		Name: "REPO_ADMIN",
		Description: map[string]string{
			"en": "Create repositories, and change the settings and permissions of repositories you administer",
			"ja": "リポジトリを作成し、あなたが管理するリポジトリの設定と権限を変更する",
		},
		Implies: []string{"REPO_WRITE"},
		Level:   store.LevelUser,
	},
	{
		Name: "PROJECT_ADMIN",
		Description: map[string]string{
			"en": "Create projects, and change the settings and permissions of projects you administer",
			"ja": "プロジェクトを作成し、あなたが管理するプロジェクトの設定と権限を変更する",
		},
		Implies: []string{"REPO_ADMIN"},
		Level:   store.LevelUser,
	},
	{
		Name: "ADMIN_WRITE",
		Description: map[string]string{
			"en": "Administer the server: manage users, groups and global permissions",
			"ja": "サーバーを管理する（ユーザー、グループ、全体の権限の管理）",
		},
		Implies: []string{"PROJECT_ADMIN"},
		Level:   store.LevelAdmin,
	},
	{
		Name: "SYSTEM_ADMIN",
		Description: map[string]string{
			"en": "Do every administration task, including system settings",
			"ja": "システム設定を含む、すべての管理作業を行う",
		},
		Implies: []string{"ADMIN_WRITE"},
		Level:   store.LevelSystemAdmin,
	},
	{
		Name: IntegrationToken,
		Description: map[string]string{
			"en": "Fetch the access tokens of Gatehouse's outgoing OAuth 2.0 integrations (for services that sign in to mailboxes)",
			"ja": "Gatehouse の外部 OAuth 2.0 連携のアクセストークンを取得する（メールボックスにサインインするサービス向け）",
		},
		Level: store.LevelSystemAdmin,
	},
}

func mustCatalogue(scopes []Scope) *Catalogue {
	c, err := newCatalogue(scopes)
	if err != nil {
		panic("scope: built-in catalogue: " + err.Error())
	}
	return c
}

// Builtin returns the built-in catalogue with this name: "atlassian" or
// "bitbucket". Catalogues are immutable, so callers share them.
func Builtin(name string) (*Catalogue, error) {
	c, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("scope: no built-in catalogue %q (have %q)", name, slices.Sorted(maps.Keys(builtins)))
	}
	return c, nil
}

// Load returns the built-in catalogue nameOrPath names, or else the catalogue
// in the file at that path; empty means Default. A file whose path equals a
// built-in name is reached by writing it as "./atlassian".
func Load(nameOrPath string) (*Catalogue, error) {
	if nameOrPath == "" {
		nameOrPath = Default
	}
	if c, ok := builtins[nameOrPath]; ok {
		return c, nil
	}
	return LoadFile(nameOrPath)
}
